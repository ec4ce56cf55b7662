"""``python -m optimiser``: the ``budgetshift`` command."""

from optimiser.cli.main import main

if __name__ == "__main__":  # pragma: no cover
    main()
