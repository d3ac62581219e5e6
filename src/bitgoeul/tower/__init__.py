"""The control tower: what the hub's operators watch (today the state on their home page)."""
