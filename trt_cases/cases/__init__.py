"""Cases: frozen descriptions with readable ids, their data, named sets, strategies, and the precision model.

The first stage of the flow: everything else receives a case and never changes it.
"""
