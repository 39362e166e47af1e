"""The Data Safety Monitoring Board (issue 12): the protocol's stopping rules evaluated on every
AE change, the pause they impose on randomization and dosing, the board's signed decisions
(the only way to resume), the interim analysis and the open and closed reports."""
