//! The rmcp `ServerHandler`: wires the tools, instructions, progress and
//! cancellation to stdio.
