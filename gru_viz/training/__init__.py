"""The shipped example models: their generated tasks and the recipes that train them."""
