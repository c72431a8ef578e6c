"""Reading source code without running it: parsing (Python's ast, tree-sitter for TypeScript),
outlines, and what a module imports, exports and serves. Pure; used by generation and checks."""
