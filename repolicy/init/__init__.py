"""Starting a policy for a repository: what it holds, and the policy that fits it."""
