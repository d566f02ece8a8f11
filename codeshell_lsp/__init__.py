"""codeshell-lsp: local AI code completion over LSP, backed by a CodeShell GGUF in llama.cpp."""

__version__ = "0.1.0"
