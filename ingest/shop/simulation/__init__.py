"""The simulator's events, one module per kind: what one simulated hour does to the shop.

:mod:`~ingest.shop.simulate` runs the hours; every hour calls, in this order, the
promotions' expiry and the signups (:mod:`.signups`), the fulfilment of open orders
(:mod:`.fulfilment`), new orders (:mod:`.orders`), restocks (:mod:`.stock`), reviews
(:mod:`.reviews`) and housekeeping (:mod:`.housekeeping`). They share the shop's state
kept between hours (:mod:`.state`). The order of the calls and of their random draws is
part of the contract: the same seed and the same starting shop give the same rows.
"""
