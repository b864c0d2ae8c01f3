"""How jobs, sweeps and results look in a notebook and a terminal.

``html.py`` renders the HTML reprs (every user string escaped); ``live.py`` is the
progress display of ``wait()`` (IPython's display updates in a kernel, a rich line in
a terminal, nothing otherwise). Neither imports IPython or rich until it is used.
"""
