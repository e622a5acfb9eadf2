"""telesante : provisionnement des postes DSQ et audit des reseaux de mission."""

__version__ = "0.1.0"
