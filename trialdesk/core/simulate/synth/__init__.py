"""Synthetic study generator: participant-level data for every form of the protocol.

``generate_study(protocol, participants=N, seed=S, out=DIR, fmt="csv"|"parquet")`` writes one
table per form (keys ``participant_id``, ``visit``, ``seq``; one column per entered field),
plus ``participants`` (screening log with screen-failure reasons) and ``allocation``
(unblinded arms), streaming ``chunk_size`` participants at a time. Each chunk is a pure
function of (protocol, seed, chunk index, options). :class:`SynthOptions` sets the true
effect on miR-126-3p, dropout, missed visits and adverse-event rates.
"""

from trialdesk.core.simulate.synth.generator import SynthResult, generate_chunk, generate_study
from trialdesk.core.simulate.synth.options import SynthOptions

__all__ = ["SynthOptions", "SynthResult", "generate_chunk", "generate_study"]
