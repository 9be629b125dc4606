"""One module per subcommand; each `run(args) -> int` orchestrates and prints through report."""
