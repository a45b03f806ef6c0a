"""The teaching pages' material: presets, one step's equations with numbers, URL state."""
