"""Ensembles at scale: XLRM specs, designs, a Dask runner, sensitivity, discovery, a catalog.

Submodules are imported on use (``reesim.ensemble.runner`` pulls in Dask, ``discover`` the EMA
Workbench) so that loading a scenario never pays for them.
"""
