"""A precision swap, carried through: its journal, its driver and the two ways it reaches the pods.

``journal`` is the state machine whose whole state lives in ``status.swap`` (so a restart resumes
it); ``driver`` moves a journaled swap forward one tick (read, step purely, persist, then act);
``rollout`` holds the pure steps of a rolling swap and ``inplace_plan`` those of an in-place one,
whose wire protocols to the model servers are in ``inplace``; ``overrides`` renders a variant into
its model container and ``selectors`` finds exactly the workload's pods.
"""
