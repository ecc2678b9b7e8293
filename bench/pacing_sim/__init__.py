"""A simulated contact-center day for ``bench/pacing.py`` (issue 17).

``scenario`` (what a day is made of), ``traces`` (its random side, the same for
every policy), ``sim`` (the discrete-event day), ``view`` (the pacing snapshot the
engine could build), ``campaign`` (what carries from day to day), ``policies``
(the product's modes through the plugin manager, the fixed ratio), ``vicidial``
and ``reference`` (the baselines), ``results`` (figures) and ``runner`` (seeds in
parallel, the fixed-ratio search).
"""
