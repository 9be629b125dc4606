"""Fixing a repository: `.gitignore` and `.gitattributes` rules git agrees with.

- `plan`: what `fix` would write, checked against git in a scratch repository
- `patterns`: the ignore and attribute lines a policy rule needs
- `blocks`: the block of lines repolicy manages inside a user's file
- `sources`: which files of the repository hold ignore and attribute rules
"""
