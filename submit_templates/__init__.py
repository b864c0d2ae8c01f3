"""Site profiles shipped with condor_nb (HTCondor submit templates)."""
