"""Pure numpy signal processing: DTMF, call-progress tones, caller ID, G.711, levels.

Everything here works on 8 kHz int16 numpy arrays unless a function says otherwise, and
imports nothing of ours but `firmware.errors`.
"""
