"""``python -m evidence`` runs the command line."""

from evidence.cli import main

if __name__ == "__main__":
    main()
