"""DVC: its files read with positions, and its content hashes."""
