"""The call engine: one call's audio (`call`), the flow's node handlers (`nodes`,
`transfer`, `mailnodes`, `owner`), caller rules, prompts and read-outs, and the
`engine` that answers a line. It talks to the line only through `line.base`."""
