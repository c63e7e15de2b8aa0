"""Golden images: what they are made of, building them once per recipe, and the catalogue.

Owns the recipes (``recipes``: the role's package list, the suite and the builder make a
digest that names the image), the ``BuildImage`` handler that builds only what the catalogue
lacks and records ``ImageBuilt`` (``build``), and resolving a config's ``base_image: NAME``
to the built file and its sha256 (``catalogue``). Builders are adapters behind the
``ImageBuilder`` port.
"""
