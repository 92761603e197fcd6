-- Profile `techally`: the canonical shop (schema shopmarts_canonical of the shop database, kept
-- beside the profile's tables for `simulate`) written through the seed 001 schema. Keys are
-- deterministic UUIDs of the canonical ids (md5('<entity>:' || id)::uuid), so the same scale
-- and seed give the same rows. The inverse rules (how staging recovers the canonical meaning)
-- are in README.md.

INSERT INTO users (id, email, email_verified, password_hash, first_name, last_name,
                   phone_number, role, status, last_login_at, created_at, updated_at)
SELECT md5('customer:' || c.customer_id)::uuid, c.email, true,
       '$argon2id$v=19$m=65536,t=3,p=4$' || md5('password:' || c.customer_id),
       left(c.first_name, 100), left(c.last_name, 100), left(c.phone, 20), 'customer',
       CASE WHEN c.is_active THEN 'active' ELSE 'inactive' END, o.last_order,
       c.created_at, c.updated_at
FROM shopmarts_canonical.customers AS c
LEFT JOIN (SELECT customer_id, max(order_date) AS last_order
           FROM shopmarts_canonical.orders GROUP BY customer_id) AS o USING (customer_id);

INSERT INTO addresses (id, user_id, address_type, street, street_2, city, state, postal_code,
                       country, is_default, created_at, updated_at)
SELECT md5('address:' || address_id)::uuid, md5('customer:' || customer_id)::uuid,
       address_type, line1, line2, city, state, postal_code, country, is_default,
       created_at, updated_at
FROM shopmarts_canonical.addresses;

INSERT INTO categories (id, parent_id, name, slug, is_active, created_at, updated_at)
SELECT md5('category:' || category_id)::uuid, md5('category:' || parent_category_id)::uuid,
       name, slug, is_active, created_at, updated_at
FROM shopmarts_canonical.product_categories;

-- Brands: the canonical products' brand names (a product without one has no brand).
INSERT INTO brands (id, name, slug, created_at, updated_at)
SELECT md5('brand:' || brand)::uuid, brand,
       trim(BOTH '-' FROM lower(regexp_replace(brand, '[^a-zA-Z0-9]+', '-', 'g'))),
       min(created_at), min(created_at)
FROM shopmarts_canonical.products
WHERE brand IS NOT NULL
GROUP BY brand;

-- is_published: the canonical is_active (a discontinued product is unpublished, not deleted).
INSERT INTO products (id, sku, name, slug, description, category_id, brand_id, base_price,
                      cost_price, is_published, created_at, updated_at)
SELECT md5('product:' || product_id)::uuid, sku, name,
       trim(BOTH '-' FROM lower(regexp_replace(name, '[^a-zA-Z0-9]+', '-', 'g')))
           || '-' || product_id,
       description, md5('category:' || category_id)::uuid, md5('brand:' || brand)::uuid,
       unit_price, cost_price, is_active, created_at, updated_at
FROM shopmarts_canonical.products;

INSERT INTO warehouses (id, code, name, created_at, updated_at)
SELECT md5('warehouse:' || warehouse_code)::uuid, warehouse_code,
       'Warehouse ' || initcap(substr(warehouse_code, 4)), min(created_at), min(created_at)
FROM shopmarts_canonical.inventory
GROUP BY warehouse_code;

INSERT INTO inventory (id, product_id, warehouse_id, quantity_on_hand, quantity_reserved,
                       reorder_point, reorder_quantity, created_at, updated_at)
SELECT md5('inventory:' || inventory_id)::uuid, md5('product:' || product_id)::uuid,
       md5('warehouse:' || warehouse_code)::uuid, quantity_on_hand, quantity_reserved,
       reorder_point, reorder_quantity, created_at, updated_at
FROM shopmarts_canonical.inventory;

-- One stock count per stocked row (an `adjustment` to the units on hand when the row was
-- last counted): the movement history before it is not generated.
INSERT INTO stock_movements (id, inventory_id, movement_type, quantity, note, created_at)
SELECT md5('stock_movement:' || inventory_id)::uuid, md5('inventory:' || inventory_id)::uuid,
       'adjustment', quantity_on_hand, 'stock count', updated_at
FROM shopmarts_canonical.inventory
WHERE quantity_on_hand > 0;

-- status (the seed's state flow): a pending order whose payment failed is FAILED, a paid
-- one being fulfilled is CONFIRMED, the others keep their state in upper case. Amounts as
-- canonical.
INSERT INTO orders (id, order_number, user_id, shipping_address_id, status, subtotal,
                    discount_amount, tax_amount, shipping_amount, total_amount, created_at,
                    updated_at)
SELECT md5('order:' || order_id)::uuid, 'TA-' || lpad(order_id::text, 10, '0'),
       md5('customer:' || customer_id)::uuid, md5('address:' || shipping_address_id)::uuid,
       CASE WHEN order_status = 'pending' AND payment_status = 'failed' THEN 'FAILED'
            WHEN order_status = 'processing' THEN 'CONFIRMED'
            ELSE upper(order_status) END,
       subtotal, discount_amount, tax_amount, shipping_amount, total_amount, order_date,
       updated_at
FROM shopmarts_canonical.orders;

INSERT INTO order_items (id, order_id, product_id, quantity, unit_price, discount_amount,
                         total_price, created_at, updated_at)
SELECT md5('order_item:' || order_item_id)::uuid, md5('order:' || order_id)::uuid,
       md5('product:' || product_id)::uuid, quantity, unit_price, discount_amount, line_total,
       created_at, updated_at
FROM shopmarts_canonical.order_items;

-- One payment per order, its status the canonical payment_status.
INSERT INTO payments (id, order_id, amount, status, payment_method, gateway_transaction_id,
                      processed_at, created_at, updated_at)
SELECT md5('payment:' || order_id)::uuid, md5('order:' || order_id)::uuid, total_amount,
       payment_status,
       (ARRAY['card', 'card', 'card', 'paypal', 'apple_pay'])[order_id % 5 + 1],
       CASE WHEN payment_status <> 'pending' THEN 'ch_' || md5('payment:' || order_id) END,
       CASE WHEN payment_status <> 'pending' THEN order_date END,
       order_date, updated_at
FROM shopmarts_canonical.orders;

-- Moderation: one review in 20 still `pending`, the rest `approved`; analytics counts every
-- review that is not soft-deleted.
INSERT INTO reviews (id, product_id, user_id, order_id, rating, title, body, moderator_status,
                     created_at, updated_at)
SELECT md5('review:' || review_id)::uuid, md5('product:' || product_id)::uuid,
       md5('customer:' || customer_id)::uuid, md5('order:' || order_id)::uuid, rating,
       left(title, 255), body,
       CASE WHEN review_id % 20 = 0 THEN 'pending' ELSE 'approved' END, created_at, updated_at
FROM shopmarts_canonical.reviews;
