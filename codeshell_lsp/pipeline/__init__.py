"""The model pipeline: Hugging Face CodeShell checkpoint -> GGUF -> quantized GGUF, and trying it."""
