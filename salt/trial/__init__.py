"""Clinical-trial analysis of SALT scores (pandas, scipy; no torch).

* :mod:`~salt.trial.endpoints`: per-visit endpoint flags (``salt_le_20``, PGI, ...).
* :mod:`~salt.trial.response`: responders, response rates, time to response, relapse.
* :mod:`~salt.trial.agreement`: agreement between raters (ICC, Bland-Altman, kappa).
* :mod:`~salt.trial.plots`: trial figures (matplotlib).

The functions are also served by the top-level package (``salt.endpoints``,
``salt.responders``, ...).
"""
