-- Profile `minimal`: the canonical shop (schema shopmarts_canonical of the shop database, kept
-- beside the profile's tables for `simulate`) written through the seed 002 schema. Keys are
-- deterministic UUIDs of the canonical ids (md5('<entity>:' || id)::uuid), so the same scale
-- and seed give the same rows. The inverse rules (how staging recovers the canonical meaning)
-- are in README.md.

INSERT INTO users (id, email, password_hash, created_at, updated_at)
SELECT md5('customer:' || c.customer_id)::uuid, c.email,
       '$2b$12$' || md5('password:' || c.customer_id),
       c.created_at AT TIME ZONE 'UTC', c.updated_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.customers AS c;

-- One session per customer: the last visit (last order, else signup), valid for 30 days.
INSERT INTO sessions (id, user_id, token_hash, expires_at, created_at)
SELECT md5('session:' || c.customer_id)::uuid, md5('customer:' || c.customer_id)::uuid,
       md5('token:' || c.customer_id),
       (coalesce(o.last_order, c.created_at) AT TIME ZONE 'UTC') + interval '30 days',
       coalesce(o.last_order, c.created_at) AT TIME ZONE 'UTC'
FROM shopmarts_canonical.customers AS c
LEFT JOIN (SELECT customer_id, max(order_date) AS last_order
           FROM shopmarts_canonical.orders GROUP BY customer_id) AS o USING (customer_id);

-- stock: units on hand over all warehouses (the shop keeps one number per product).
INSERT INTO products (id, name, description, price, stock, created_at, updated_at)
SELECT md5('product:' || p.product_id)::uuid, p.name, p.description, p.unit_price,
       coalesce(i.on_hand, 0), p.created_at AT TIME ZONE 'UTC', p.updated_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.products AS p
LEFT JOIN (SELECT product_id, sum(quantity_on_hand)::integer AS on_hand
           FROM shopmarts_canonical.inventory GROUP BY product_id) AS i USING (product_id);

-- status: the canonical order state; `returned` has no spelling here and becomes
-- `cancelled` (refunded: not a sale). total = the canonical total_amount.
INSERT INTO orders (id, user_id, status, total, created_at, updated_at)
SELECT md5('order:' || o.order_id)::uuid, md5('customer:' || o.customer_id)::uuid,
       CASE o.order_status WHEN 'returned' THEN 'cancelled' ELSE o.order_status END,
       o.total_amount, o.order_date AT TIME ZONE 'UTC', o.updated_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.orders AS o;

-- A line carries only a unit price, so a canonical line of q units and line_total L becomes
-- at most two lines whose quantity * price add up to L exactly: q - r units at
-- floor(L / q) and r units one cent dearer (r = L in cents mod q).
INSERT INTO order_items (id, order_id, product_id, quantity, price)
SELECT md5('order_item:' || i.order_item_id || ':' || part.k)::uuid,
       md5('order:' || i.order_id)::uuid, md5('product:' || i.product_id)::uuid,
       part.quantity, part.cents / 100.0
FROM shopmarts_canonical.order_items AS i
CROSS JOIN LATERAL (SELECT (i.line_total * 100)::bigint AS cents) AS line
CROSS JOIN LATERAL (VALUES
    (0, i.quantity - line.cents % i.quantity, line.cents / i.quantity),
    (1, line.cents % i.quantity, line.cents / i.quantity + 1)) AS part (k, quantity, cents)
WHERE part.quantity > 0;
