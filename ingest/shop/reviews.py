"""Reviews of the generated history: drawn per chunk of orders, written in time order.

A delivered (or returned) line gets a review a few days after delivery with
REVIEW_SHARE (REVIEW_SHARE_RETURNED); its rating is 4.5 plus the product's quality plus
noise, less for returns, with a share of angry one-star reviews whatever the product.
Reviews lag their orders, so they are buffered until every earlier one has been drawn:
review ids follow review time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.shop import vocabulary
from ingest.shop.calendar import DAY, HOUR
from ingest.shop.copy import CopyBatch, Field, encode_batch, text_array

REVIEW_SHARE = 0.21  # delivered lines that get a review
REVIEW_SHARE_RETURNED = 0.3
ANGRY_REVIEW_SHARE = 0.03  # one-star reviews whatever the product
REVIEW_DELAY_DAYS = 6  # median days from delivery to review (lognormal, sigma 0.8)
RETURNED_PENALTY = 1.6  # stars a returned product's review loses
NO_BODY_SHARE = 0.15  # reviews with a title only
EDITED_SHARE = 0.06  # reviews edited within 30 days of writing them

# The vocabulary's titles per rating and sentences per rating (two per body).
TITLES_PER_RATING = 8
SENTENCES_PER_RATING = 7


@dataclass
class _PendingReviews:
    """Reviews drawn but not yet written: ids follow review time, which lags the orders."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, new: dict[str, np.ndarray]) -> None:
        if not self.columns:
            self.columns = new
        else:
            self.columns = {k: np.concatenate((self.columns[k], new[k])) for k in new}

    def release(self, before: int) -> dict[str, np.ndarray]:
        """The reviews written before ``before``, in time order, removed from the buffer."""
        if not self.columns:
            return {}
        ready = self.columns["created_at"] < before
        out = {k: v[ready] for k, v in self.columns.items()}
        self.columns = {k: v[~ready] for k, v in self.columns.items()}
        order = np.lexsort((out["product_id"], out["order_id"], out["created_at"]))
        return {k: v[order] for k, v in out.items()}


@dataclass(frozen=True)
class ReviewedLines:
    """The lines of one chunk that may be reviewed: per line, who bought what in which
    order, its order's status, and when the order arrived."""

    customer_id: np.ndarray
    product: np.ndarray  # index into ProductFacts
    order_id: np.ndarray
    delivered: np.ndarray  # the order was delivered (or returned)
    returned: np.ndarray
    delivered_at: np.ndarray


class ReviewHistory:
    """The reviews of the generated history, drawn chunk by chunk, released in time order."""

    def __init__(self, quality: np.ndarray, end: int) -> None:
        self.quality = quality  # per product: stars above or below the shop's mean
        self.end = end
        self.next_id = 1
        self._pending = _PendingReviews()
        assert all(len(t) == TITLES_PER_RATING for t in vocabulary.REVIEW_TITLES)
        assert all(len(s) == SENTENCES_PER_RATING for s in vocabulary.REVIEW_SENTENCES)
        self._titles = text_array([t for titles in vocabulary.REVIEW_TITLES for t in titles])
        sentences = vocabulary.REVIEW_SENTENCES
        self._bodies = text_array([
            f"{first} {second}"
            for rating in sentences for first in rating for second in rating
        ])  # fmt: skip

    def draw(self, rng: np.random.Generator, lines: ReviewedLines) -> None:
        """Draw which of ``lines`` get reviewed, when and how; buffer them."""
        size = len(lines.product)
        reviewed = lines.delivered & (
            rng.random(size) < np.where(lines.returned, REVIEW_SHARE_RETURNED, REVIEW_SHARE)
        )
        delay = np.clip(
            rng.lognormal(np.log(REVIEW_DELAY_DAYS * DAY), 0.8, size), HOUR, 90 * DAY
        ).astype(np.int64)
        review_time = lines.delivered_at + delay
        reviewed &= review_time < self.end

        at = np.flatnonzero(reviewed)
        size = len(at)
        product = lines.product[at]
        latent = (
            4.5
            + self.quality[product]
            + rng.normal(0.0, 1.05, size)
            - RETURNED_PENALTY * lines.returned[at]
        )
        rating = np.clip(np.rint(latent), 1, 5).astype(np.int64)
        rating[rng.random(size) < ANGRY_REVIEW_SHARE] = 1
        created = review_time[at]
        edit_window = np.minimum(30 * DAY, self.end - 1 - created)
        edited = created + (rng.random(size) * edit_window).astype(np.int64)
        # Two different sentences of the rating's seven: the body index below.
        sentences = SENTENCES_PER_RATING
        first = rng.integers(0, sentences, size)
        second = (first + 1 + rng.integers(0, sentences - 1, size)) % sentences
        self._pending.add({
            "customer_id": lines.customer_id[at],
            "product_id": product + 1,
            "order_id": lines.order_id[at],
            "rating": rating,
            "title": (rating - 1) * TITLES_PER_RATING + rng.integers(0, TITLES_PER_RATING, size),
            "body": (rating - 1) * sentences**2 + first * sentences + second,
            "no_body": rng.random(size) < NO_BODY_SHARE,
            "created_at": created,
            "updated_at": np.where(rng.random(size) < EDITED_SHARE, edited, created),
        })  # fmt: skip

    def release(self, before: int) -> CopyBatch | None:
        """The buffered reviews written before ``before`` as binary COPY (None: none)."""
        reviews = self._pending.release(before)
        if not reviews:
            return None
        count = len(reviews["rating"])
        ids = np.arange(self.next_id, self.next_id + count, dtype=np.int64)
        self.next_id += count
        return encode_batch("reviews", [
            Field("review_id", "int8", ids),
            Field("customer_id", "int8", reviews["customer_id"]),
            Field("product_id", "int8", reviews["product_id"]),
            Field("order_id", "int8", reviews["order_id"]),
            Field("rating", "int2", reviews["rating"]),
            Field("title", "text", self._titles[reviews["title"]]),
            Field("body", "text", self._bodies[reviews["body"]], reviews["no_body"]),
            Field("created_at", "timestamptz", reviews["created_at"]),
            Field("updated_at", "timestamptz", reviews["updated_at"]),
        ])  # fmt: skip
