"""Tools that move a site's feeds from another system into this package's engine."""
