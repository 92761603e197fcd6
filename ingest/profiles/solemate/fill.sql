-- Profile `solemate`: the canonical shop (schema shopmarts_canonical of the shop database, kept
-- beside the profile's tables for `simulate`) written through the seed 004 schema. Keys are
-- deterministic UUIDs of the canonical ids (md5('<entity>:' || id)::uuid), so the same scale
-- and seed give the same rows. The inverse rules (how staging recovers the canonical meaning)
-- are in README.md.

INSERT INTO users (id, email, password_hash, first_name, last_name, phone_number, role,
                   is_active, email_verified, last_login_at, created_at, updated_at)
SELECT md5('customer:' || c.customer_id)::uuid, c.email,
       '$2b$12$' || md5('password:' || c.customer_id),
       left(c.first_name, 100), left(c.last_name, 100), left(c.phone, 20), 'customer',
       c.is_active, true, o.last_order AT TIME ZONE 'UTC',
       c.created_at AT TIME ZONE 'UTC', c.updated_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.customers AS c
LEFT JOIN (SELECT customer_id, max(order_date) AS last_order
           FROM shopmarts_canonical.orders GROUP BY customer_id) AS o USING (customer_id);

INSERT INTO addresses (id, user_id, type, name, street_1, street_2, city, state, postal_code,
                       country, phone, is_default, created_at)
SELECT md5('address:' || a.address_id)::uuid, md5('customer:' || a.customer_id)::uuid,
       a.address_type, left(c.first_name || ' ' || c.last_name, 100), a.line1, a.line2,
       a.city, a.state, a.postal_code, a.country, left(c.phone, 20), a.is_default,
       a.created_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.addresses AS a
JOIN shopmarts_canonical.customers AS c USING (customer_id);

INSERT INTO categories (id, parent_id, name, slug, sort_order, is_active, created_at)
SELECT md5('category:' || category_id)::uuid, md5('category:' || parent_category_id)::uuid,
       name, slug, category_id, is_active, created_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.product_categories;

-- Brands: the canonical products' brand names (a product without one has no brand).
INSERT INTO brands (id, name, slug, is_active, created_at)
SELECT md5('brand:' || brand)::uuid, brand,
       trim(BOTH '-' FROM lower(regexp_replace(brand, '[^a-zA-Z0-9]+', '-', 'g'))),
       true, min(created_at) AT TIME ZONE 'UTC'
FROM shopmarts_canonical.products
WHERE brand IS NOT NULL
GROUP BY brand;

INSERT INTO products (id, sku, name, slug, description, category_id, brand_id, price, cost,
                      is_active, meta_title, created_at, updated_at)
SELECT md5('product:' || product_id)::uuid, sku, name,
       trim(BOTH '-' FROM lower(regexp_replace(name, '[^a-zA-Z0-9]+', '-', 'g')))
           || '-' || product_id,
       description, md5('category:' || category_id)::uuid, md5('brand:' || brand)::uuid,
       unit_price, cost_price, is_active, left(name, 255),
       created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.products;

-- 1 to 3 variants per product (product_id % 3 + 1), k = 0.., each a shoe size. Every
-- canonical inventory row (product x warehouse) is split across the product's variants,
-- the remainder to the first ones; a variant's stock is its units on hand everywhere.
WITH split AS (
    SELECT i.product_id, v.k,
           sum(i.quantity_on_hand / v.n
               + CASE WHEN v.k < i.quantity_on_hand % v.n THEN 1 ELSE 0 END)::integer AS stock
    FROM shopmarts_canonical.inventory AS i
    CROSS JOIN LATERAL (SELECT k::integer, (i.product_id % 3 + 1)::integer AS n
                        FROM generate_series(0, i.product_id % 3) AS k) AS v
    GROUP BY i.product_id, v.k
)
INSERT INTO product_variants (id, product_id, sku, size, color, stock, is_active, created_at)
SELECT md5('variant:' || p.product_id || ':' || v.k)::uuid, md5('product:' || p.product_id)::uuid,
       p.sku || '-' || (ARRAY['7', '8', '9', '10', '11', '12'])[(p.product_id + v.k) % 6 + 1],
       (ARRAY['7', '8', '9', '10', '11', '12'])[(p.product_id + v.k) % 6 + 1],
       (ARRAY['Black', 'White', 'Navy', 'Tan', 'Grey', 'Red'])[(p.product_id * 7 + v.k) % 6 + 1],
       coalesce(split.stock, 0), p.is_active, p.created_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.products AS p
CROSS JOIN LATERAL (SELECT k::integer FROM generate_series(0, p.product_id % 3) AS k) AS v
LEFT JOIN split ON split.product_id = p.product_id AND split.k = v.k;

INSERT INTO product_images (id, product_id, url, alt_text, sort_order, is_primary, created_at)
SELECT md5('product_image:' || product_id)::uuid, md5('product:' || product_id)::uuid,
       'https://cdn.solemate.example/products/' || sku || '.jpg', left(name, 255), 0, true,
       created_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.products;

INSERT INTO warehouses (id, code, name, created_at, updated_at)
SELECT md5('warehouse:' || warehouse_code)::uuid, warehouse_code,
       'Warehouse ' || initcap(substr(warehouse_code, 4)),
       min(created_at) AT TIME ZONE 'UTC', min(created_at) AT TIME ZONE 'UTC'
FROM shopmarts_canonical.inventory
GROUP BY warehouse_code;

INSERT INTO promo_codes (id, code, description, discount_type, discount_value, minimum_order,
                         current_uses, valid_from, valid_until, is_active, created_at)
SELECT md5('promotion:' || p.promotion_id)::uuid, p.code, p.name, upper(p.discount_type),
       p.discount_value, p.min_order_amount, coalesce(u.uses, 0),
       p.starts_at AT TIME ZONE 'UTC', p.ends_at AT TIME ZONE 'UTC', p.is_active,
       p.created_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.promotions AS p
LEFT JOIN (SELECT promotion_id, count(*)::integer AS uses
           FROM shopmarts_canonical.order_promotions GROUP BY promotion_id) AS u USING (promotion_id);

-- status: upper case; a `returned` order (always refunded) is REFUNDED. promo_code_id: the
-- first of the order's promotions (promo_usage has them all). Amounts are the canonical ones.
INSERT INTO orders (id, order_number, user_id, status, subtotal, discount, tax, shipping, total,
                    shipping_address, billing_address, promo_code_id, tracking_number,
                    created_at, updated_at)
SELECT md5('order:' || o.order_id)::uuid, 'SM-' || lpad(o.order_id::text, 8, '0'),
       md5('customer:' || o.customer_id)::uuid,
       CASE o.order_status WHEN 'returned' THEN 'REFUNDED' ELSE upper(o.order_status) END,
       o.subtotal, o.discount_amount, o.tax_amount, o.shipping_amount, o.total_amount,
       address.json, address.json,
       md5('promotion:' || first_promotion.promotion_id)::uuid,
       CASE WHEN o.shipped_at IS NOT NULL THEN '1Z' || upper(left(md5('tracking:' || o.order_id), 16)) END,
       o.order_date AT TIME ZONE 'UTC', o.updated_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.orders AS o
JOIN shopmarts_canonical.addresses AS a ON a.address_id = o.shipping_address_id
LEFT JOIN (SELECT order_id, min(promotion_id) AS promotion_id
           FROM shopmarts_canonical.order_promotions GROUP BY order_id) AS first_promotion
    USING (order_id)
CROSS JOIN LATERAL (SELECT jsonb_build_object(
    'street_1', a.line1, 'street_2', a.line2, 'city', a.city, 'state', a.state,
    'postal_code', a.postal_code, 'country', a.country) AS json) AS address;

-- Items per variant: k = order_item_id mod the product's variant count. Amounts as canonical.
INSERT INTO order_items (id, order_id, product_id, variant_id, sku, name, quantity, price,
                         discount, total, product_snapshot, created_at)
SELECT md5('order_item:' || i.order_item_id)::uuid, md5('order:' || i.order_id)::uuid,
       md5('product:' || i.product_id)::uuid,
       md5('variant:' || i.product_id || ':' || i.order_item_id % (i.product_id % 3 + 1))::uuid,
       p.sku || '-' || (ARRAY['7', '8', '9', '10', '11', '12'])
           [(i.product_id + i.order_item_id % (i.product_id % 3 + 1)) % 6 + 1],
       p.name, i.quantity, i.unit_price, i.discount_amount, i.line_total,
       jsonb_build_object('name', p.name, 'sku', p.sku, 'brand', p.brand),
       i.created_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.order_items AS i
JOIN shopmarts_canonical.products AS p USING (product_id);

-- One payment per order (the seed's 1:1), its status the canonical payment_status.
INSERT INTO payments (id, order_id, user_id, amount, currency, status, provider,
                      transaction_id, payment_method, failure_reason, refund_amount,
                      refunded_at, created_at, updated_at)
SELECT md5('payment:' || o.order_id)::uuid, md5('order:' || o.order_id)::uuid,
       md5('customer:' || o.customer_id)::uuid, o.total_amount, 'USD', upper(o.payment_status),
       CASE WHEN o.order_id % 10 < 7 THEN 'STRIPE' ELSE 'PAYPAL' END,
       CASE WHEN o.payment_status <> 'pending' THEN 'txn_' || md5('payment:' || o.order_id) END,
       CASE WHEN o.order_id % 10 < 7 THEN 'card' ELSE 'paypal' END,
       CASE WHEN o.payment_status = 'failed' THEN 'card_declined' END,
       CASE WHEN o.payment_status = 'refunded' THEN o.total_amount ELSE 0 END,
       CASE WHEN o.payment_status = 'refunded' THEN o.updated_at AT TIME ZONE 'UTC' END,
       o.order_date AT TIME ZONE 'UTC', o.updated_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.orders AS o;

-- Moderation: one review in 20 still PENDING, the rest APPROVED; analytics counts them all.
INSERT INTO reviews (id, product_id, user_id, order_id, rating, title, comment, is_verified,
                     helpful_count, status, created_at, updated_at)
SELECT md5('review:' || review_id)::uuid, md5('product:' || product_id)::uuid,
       md5('customer:' || customer_id)::uuid, md5('order:' || order_id)::uuid, rating,
       left(title, 255), body, order_id IS NOT NULL, (review_id % 7)::integer,
       CASE WHEN review_id % 20 = 0 THEN 'PENDING' ELSE 'APPROVED' END,
       created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.reviews;

INSERT INTO inventory (id, product_id, variant_id, warehouse_id, quantity, reserved,
                       reorder_point, reorder_quantity, updated_at)
SELECT md5('inventory:' || i.inventory_id || ':' || v.k)::uuid,
       md5('product:' || i.product_id)::uuid,
       md5('variant:' || i.product_id || ':' || v.k)::uuid,
       md5('warehouse:' || i.warehouse_code)::uuid,
       i.quantity_on_hand / v.n + CASE WHEN v.k < i.quantity_on_hand % v.n THEN 1 ELSE 0 END,
       i.quantity_reserved / v.n + CASE WHEN v.k < i.quantity_reserved % v.n THEN 1 ELSE 0 END,
       i.reorder_point / v.n + CASE WHEN v.k < i.reorder_point % v.n THEN 1 ELSE 0 END,
       i.reorder_quantity / v.n + CASE WHEN v.k < i.reorder_quantity % v.n THEN 1 ELSE 0 END,
       i.updated_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.inventory AS i
CROSS JOIN LATERAL (SELECT k::integer, (i.product_id % 3 + 1)::integer AS n
                    FROM generate_series(0, i.product_id % 3) AS k) AS v;

INSERT INTO promo_usage (id, promo_code_id, order_id, user_id, discount_amount, used_at)
SELECT md5('promo_usage:' || op.order_id || ':' || op.promotion_id)::uuid,
       md5('promotion:' || op.promotion_id)::uuid, md5('order:' || op.order_id)::uuid,
       md5('customer:' || o.customer_id)::uuid, op.discount_amount,
       o.order_date AT TIME ZONE 'UTC'
FROM shopmarts_canonical.order_promotions AS op
JOIN shopmarts_canonical.orders AS o USING (order_id);
