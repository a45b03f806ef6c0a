"""Files in and out: checkpoint formats and their detection, our save file, inputs, exports."""
