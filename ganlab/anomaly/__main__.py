"""``python -m ganlab.anomaly`` runs :mod:`ganlab.cli.anomaly`."""

if __name__ == "__main__":  # not when imported (pytest's doctest collection imports it)
    from ganlab.cli.anomaly import main

    main()
