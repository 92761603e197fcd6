-- Profile `modestwear`: the canonical shop (schema shopmarts_canonical of the shop database,
-- kept beside the profile's tables for `simulate`) written through the seed 000 schema. SERIAL
-- keys keep the canonical ids where a row maps to one canonical row; the inverse rules are in
-- README.md.

INSERT INTO users_user (id, email, username, password, first_name, last_name, profile_picture,
                        phone_number, is_verified, is_active, is_staff, is_superuser,
                        date_joined, last_login)
SELECT c.customer_id, c.email, left(split_part(c.email, '@', 1), 70),
       'pbkdf2_sha256$600000$' || md5('password:' || c.customer_id),
       left(c.first_name, 128), left(c.last_name, 70), NULL,
       nullif(left(regexp_replace(coalesce(c.phone, ''), '[^0-9+]', '', 'g'), 15), ''),
       true, c.is_active, false, false,
       c.created_at AT TIME ZONE 'UTC', o.last_order AT TIME ZONE 'UTC'
FROM shopmarts_canonical.customers AS c
LEFT JOIN (SELECT customer_id, max(order_date) AS last_order
           FROM shopmarts_canonical.orders GROUP BY customer_id) AS o USING (customer_id);

-- slug is varchar(50): longer canonical slugs are cut and keep their id to stay unique.
INSERT INTO catalog_category (id, parent_id, name, slug, is_active)
SELECT category_id, parent_category_id, name,
       CASE WHEN length(slug) <= 50 THEN slug
            ELSE rtrim(left(slug, 49 - length(category_id::text)), '-') || '-' || category_id END,
       is_active
FROM shopmarts_canonical.product_categories;

INSERT INTO catalog_coveragelevel (id, name, description) VALUES
    (1, 'Full', 'Covers arms to the wrist, legs to the ankle, loose fit.'),
    (2, 'Moderate', 'Covers shoulders and knees, relaxed fit.'),
    (3, 'Light', 'Everyday cover, fitted cuts allowed.');

INSERT INTO catalog_product (id, category_id, product_size_id, name, slug, description,
                             base_price, is_featured, date_added)
SELECT p.product_id, p.category_id, 1 + p.product_id % 3, p.name,
       trim(BOTH '-' FROM left(lower(regexp_replace(p.name, '[^a-zA-Z0-9]+', '-', 'g')), 40))
           || '-' || p.product_id,
       coalesce(p.description, ''), p.unit_price, p.product_id % 25 = 0,
       p.created_at AT TIME ZONE 'UTC'
FROM shopmarts_canonical.products AS p;

-- 1 to 3 variants per product (product_id % 3 + 1), ids 3 * (product_id - 1) + k + 1; the
-- product's units on hand (all warehouses) are split across them, the remainder to the first.
INSERT INTO catalog_productvariant (id, product_id, coverage_id, sku, size, color,
                                    stock_available, is_active)
SELECT 3 * (p.product_id - 1) + v.k + 1, p.product_id, 1 + p.product_id % 3,
       p.sku || '-' || (ARRAY['XS', 'S', 'M', 'L', 'XL', 'XXL'])[(p.product_id + v.k) % 6 + 1],
       (p.product_id + v.k) % 6,
       (ARRAY['Black', 'Navy', 'Olive', 'Sand', 'Burgundy', 'Dusty Rose'])
           [(p.product_id * 7 + v.k) % 6 + 1],
       coalesce(s.on_hand, 0) / v.n + CASE WHEN v.k < coalesce(s.on_hand, 0) % v.n THEN 1 ELSE 0 END,
       p.is_active
FROM shopmarts_canonical.products AS p
LEFT JOIN (SELECT product_id, sum(quantity_on_hand)::integer AS on_hand
           FROM shopmarts_canonical.inventory GROUP BY product_id) AS s USING (product_id)
CROSS JOIN LATERAL (SELECT k::integer, (p.product_id % 3 + 1)::integer AS n
                    FROM generate_series(0, p.product_id % 3) AS k) AS v;

INSERT INTO catalog_productimage (id, product_id, image, thumbnail, is_feature)
SELECT product_id, product_id,
       'https://res.cloudinary.com/modestwear/image/upload/p' || product_id || '.jpg',
       'https://res.cloudinary.com/modestwear/image/upload/t_thumb/p' || product_id || '.jpg',
       true
FROM shopmarts_canonical.products;

-- status: processing is `paid`; `returned` has no spelling here and becomes `cancelled`
-- (refunded: not a sale). total_price = the canonical total_amount. address: the shipping
-- address as text (the seed's snapshot).
INSERT INTO orders_order (id, user_id, status, total_price, address, created_at)
SELECT o.order_id, o.customer_id,
       CASE o.order_status WHEN 'processing' THEN 'paid' WHEN 'returned' THEN 'cancelled'
            ELSE o.order_status END,
       o.total_amount,
       concat_ws(', ', a.line1, a.line2, a.city, a.state || ' ' || a.postal_code, a.country),
       o.order_date AT TIME ZONE 'UTC'
FROM shopmarts_canonical.orders AS o
JOIN shopmarts_canonical.addresses AS a ON a.address_id = o.shipping_address_id;

-- A line carries only a unit price, so a canonical line of q units and line_total L becomes
-- at most two lines whose quantity * price_at_purchase add up to L exactly: q - r units at
-- floor(L / q) and r units one cent dearer (r = L in cents mod q); ids 2 * id - 1 and 2 * id.
-- The variant: k = order_item_id mod the product's variant count.
INSERT INTO orders_orderitem (id, order_id, variant_id, quantity, price_at_purchase)
SELECT 2 * i.order_item_id - 1 + part.k, i.order_id,
       3 * (i.product_id - 1) + i.order_item_id % (i.product_id % 3 + 1) + 1,
       part.quantity, part.cents / 100.0
FROM shopmarts_canonical.order_items AS i
CROSS JOIN LATERAL (SELECT (i.line_total * 100)::bigint AS cents) AS line
CROSS JOIN LATERAL (VALUES
    (0, i.quantity - line.cents % i.quantity, line.cents / i.quantity),
    (1, line.cents % i.quantity, line.cents / i.quantity + 1)) AS part (k, quantity, cents)
WHERE part.quantity > 0;
