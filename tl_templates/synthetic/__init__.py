"""Generated data: the glyph and speech source tasks, drawn faces and street scenes."""
