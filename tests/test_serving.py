"""receptionist.serving: what the web process does around its requests."""

import gc

from django.core.signals import request_finished

from receptionist.serving import collect_garbage_after_responses


def test_young_garbage_is_collected_once_a_response_has_gone_out():
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)  # as the web process: the collector itself waits
    collect_garbage_after_responses(young=1_000)
    try:
        gc.collect()
        for _ in range(3_000):
            cycle = {}
            cycle["self"] = cycle  # only the collector frees it
        assert gc.get_count()[0] > 1_000
        request_finished.send(sender=None)
        assert gc.get_count()[0] < 100
        # Below the mark nothing is collected: a request pays nothing for a few objects.
        for _ in range(200):
            cycle = {}
            cycle["self"] = cycle
        before = gc.get_count()[0]
        request_finished.send(sender=None)
        assert gc.get_count()[0] >= before > 100
    finally:
        request_finished.disconnect(dispatch_uid="collect_garbage_after_responses")
        gc.set_threshold(*thresholds)
