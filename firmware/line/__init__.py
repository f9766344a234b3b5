"""The phone line: transport only (audio frames, ring, hook, events), no call logic.

`base` defines the interface every backend implements; the concrete backends (`sim`,
`modem`, `fxo`) are chosen only by `firmware.appliance`.
"""
