"""What the notebook writers share: cell constructors and one way to write a notebook (the
kernelspec every tutorial declares). Run the writers from the repository root."""

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write(path: str, cells: list) -> None:
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = KERNEL
    nbf.write(nb, path)
