-- Profile `solemate`: the SoleMate shop of seed 004 ("Entity Relationship (ER) Diagram"), as
-- its DDL (section 5) defines it: UUID keys, TIMESTAMP columns (UTC, without time zone),
-- upper-case statuses, order items per variant, payments, moderated reviews, inventory per
-- variant and warehouse, promo codes and their usage.
-- What the seed leaves open (warehouses, which it references but never defines) and what we
-- chose: README.md next to this file.
--
-- `shopmarts generate --profile solemate` applies the sections in one transaction: drop,
-- tables, fill.sql (the canonical shop written through this schema), keys, indexes,
-- foreign_keys, triggers. Run top to bottom, the file builds the same empty shop.
-- Constraint names are the ones PostgreSQL gives the seed's inline constraints.

-- section: drop
DROP TABLE IF EXISTS
    promo_usage, inventory_transactions, inventory, wishlist_items, cart_items, reviews,
    payments, order_items, orders, promo_codes, warehouses, product_images, product_variants,
    products, brands, categories, addresses, users;
DROP FUNCTION IF EXISTS update_updated_at();

-- section: tables
-- 5.1 Users and authentication
CREATE TABLE users (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    email VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    first_name VARCHAR(100),
    last_name VARCHAR(100),
    phone_number VARCHAR(20),
    role VARCHAR(20) DEFAULT 'customer' CHECK (role IN ('customer', 'admin', 'manager')),
    is_active BOOLEAN DEFAULT true,
    email_verified BOOLEAN DEFAULT false,
    last_login_at TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE addresses (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL,
    type VARCHAR(20) DEFAULT 'shipping' CHECK (type IN ('shipping', 'billing')),
    name VARCHAR(100) NOT NULL,
    street_1 VARCHAR(255) NOT NULL,
    street_2 VARCHAR(255),
    city VARCHAR(100) NOT NULL,
    state VARCHAR(100) NOT NULL,
    postal_code VARCHAR(20) NOT NULL,
    country VARCHAR(2) NOT NULL,
    phone VARCHAR(20),
    is_default BOOLEAN DEFAULT false,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

-- 5.2 Product catalog
CREATE TABLE categories (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    parent_id UUID,
    name VARCHAR(100) NOT NULL,
    slug VARCHAR(100) NOT NULL,
    description TEXT,
    image_url VARCHAR(500),
    sort_order INTEGER DEFAULT 0,
    is_active BOOLEAN DEFAULT true,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE brands (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL,
    slug VARCHAR(100) NOT NULL,
    logo_url VARCHAR(500),
    website VARCHAR(255),
    description TEXT,
    is_active BOOLEAN DEFAULT true,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE products (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    sku VARCHAR(100) NOT NULL,
    name VARCHAR(255) NOT NULL,
    slug VARCHAR(255) NOT NULL,
    description TEXT,
    category_id UUID,
    brand_id UUID,
    price DECIMAL(10, 2) NOT NULL CHECK (price >= 0),
    compare_price DECIMAL(10, 2) CHECK (compare_price >= 0),
    cost DECIMAL(10, 2) CHECK (cost >= 0),
    weight DECIMAL(10, 3),
    is_active BOOLEAN DEFAULT true,
    tags TEXT[],
    meta_title VARCHAR(255),
    meta_description TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE product_variants (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL,
    sku VARCHAR(100) NOT NULL,
    size VARCHAR(20),
    color VARCHAR(50),
    price DECIMAL(10, 2),
    stock INTEGER DEFAULT 0 CHECK (stock >= 0),
    weight DECIMAL(10, 3),
    images TEXT[],
    is_active BOOLEAN DEFAULT true,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE product_images (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL,
    url VARCHAR(500) NOT NULL,
    alt_text VARCHAR(255),
    sort_order INTEGER DEFAULT 0,
    is_primary BOOLEAN DEFAULT false,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

-- Not defined by the seed, referenced by inventory.warehouse_id: our choice (README.md).
CREATE TABLE warehouses (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    code VARCHAR(20) NOT NULL,
    name VARCHAR(100) NOT NULL,
    country VARCHAR(2) NOT NULL DEFAULT 'US',
    is_active BOOLEAN DEFAULT true,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

-- 5.7 Promotions (before orders, which reference them)
CREATE TABLE promo_codes (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    code VARCHAR(50) NOT NULL,
    description TEXT,
    discount_type VARCHAR(20) NOT NULL,
    discount_value DECIMAL(10, 2) NOT NULL,
    minimum_order DECIMAL(10, 2) DEFAULT 0,
    max_uses INTEGER,
    current_uses INTEGER DEFAULT 0,
    valid_from TIMESTAMP,
    valid_until TIMESTAMP,
    is_active BOOLEAN DEFAULT true,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT check_discount_type CHECK (discount_type IN ('PERCENTAGE', 'FIXED_AMOUNT', 'FREE_SHIPPING'))
);

-- 5.3 Orders and transactions
CREATE TABLE orders (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    order_number VARCHAR(50) NOT NULL,
    user_id UUID NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'PENDING',
    subtotal DECIMAL(10, 2) NOT NULL,
    discount DECIMAL(10, 2) DEFAULT 0,
    tax DECIMAL(10, 2) DEFAULT 0,
    shipping DECIMAL(10, 2) DEFAULT 0,
    total DECIMAL(10, 2) NOT NULL,
    notes TEXT,
    shipping_address JSONB NOT NULL,
    billing_address JSONB NOT NULL,
    promo_code_id UUID,
    tracking_number VARCHAR(100),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT check_order_status CHECK (status IN ('PENDING', 'CONFIRMED', 'PROCESSING', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'RETURNED', 'REFUNDED')),
    -- Section 8.1: "Order total must equal subtotal - discount + tax + shipping".
    CONSTRAINT check_order_total CHECK (
        total = subtotal - coalesce(discount, 0) + coalesce(tax, 0) + coalesce(shipping, 0))
);

CREATE TABLE order_items (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    order_id UUID NOT NULL,
    product_id UUID NOT NULL,
    variant_id UUID,
    sku VARCHAR(100) NOT NULL,
    name VARCHAR(255) NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    price DECIMAL(10, 2) NOT NULL,
    discount DECIMAL(10, 2) DEFAULT 0,
    total DECIMAL(10, 2) NOT NULL,
    product_snapshot JSONB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE payments (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    order_id UUID NOT NULL,
    user_id UUID NOT NULL,
    amount DECIMAL(10, 2) NOT NULL,
    currency VARCHAR(3) DEFAULT 'USD',
    status VARCHAR(20) NOT NULL,
    provider VARCHAR(20) NOT NULL,
    transaction_id VARCHAR(255),
    payment_method VARCHAR(50),
    failure_reason TEXT,
    metadata JSONB,
    refund_amount DECIMAL(10, 2) DEFAULT 0,
    refunded_at TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT check_payment_status CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'REFUNDED', 'PARTIAL_REFUND'))
);

-- 5.4 Reviews and ratings
CREATE TABLE reviews (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL,
    user_id UUID NOT NULL,
    order_id UUID,
    rating INTEGER NOT NULL CHECK (rating >= 1 AND rating <= 5),
    title VARCHAR(255),
    comment TEXT,
    images TEXT[],
    is_verified BOOLEAN DEFAULT false,
    helpful_count INTEGER DEFAULT 0,
    status VARCHAR(20) DEFAULT 'PENDING',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT check_review_status CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED'))
);

-- 5.5 Shopping cart and wishlist
CREATE TABLE cart_items (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL,
    product_id UUID NOT NULL,
    variant_id UUID,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    price DECIMAL(10, 2) NOT NULL,
    discount DECIMAL(10, 2) DEFAULT 0,
    added_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE wishlist_items (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL,
    product_id UUID NOT NULL,
    added_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

-- 5.6 Inventory management
CREATE TABLE inventory (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL,
    variant_id UUID,
    warehouse_id UUID,
    quantity INTEGER NOT NULL DEFAULT 0,
    reserved INTEGER DEFAULT 0,
    available INTEGER GENERATED ALWAYS AS (quantity - reserved) STORED,
    reorder_point INTEGER DEFAULT 10,
    reorder_quantity INTEGER DEFAULT 50,
    last_restocked TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- Section 8.1: "Inventory quantities must be non-negative".
    CONSTRAINT check_inventory_quantities CHECK (quantity >= 0 AND reserved >= 0)
);

CREATE TABLE inventory_transactions (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    inventory_id UUID NOT NULL,
    type VARCHAR(20) NOT NULL,
    quantity INTEGER NOT NULL,
    reference_type VARCHAR(20),
    reference_id UUID,
    notes TEXT,
    created_by UUID,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT check_transaction_type CHECK (type IN ('RESTOCK', 'SALE', 'RETURN', 'ADJUSTMENT', 'RESERVATION', 'RELEASE'))
);

CREATE TABLE promo_usage (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    promo_code_id UUID NOT NULL,
    order_id UUID NOT NULL,
    user_id UUID NOT NULL,
    discount_amount DECIMAL(10, 2) NOT NULL,
    used_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

-- section: keys
ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id),
    ADD CONSTRAINT users_email_key UNIQUE (email);
ALTER TABLE addresses ADD CONSTRAINT addresses_pkey PRIMARY KEY (id);
ALTER TABLE categories ADD CONSTRAINT categories_pkey PRIMARY KEY (id),
    ADD CONSTRAINT categories_slug_key UNIQUE (slug);
ALTER TABLE brands ADD CONSTRAINT brands_pkey PRIMARY KEY (id),
    ADD CONSTRAINT brands_name_key UNIQUE (name),
    ADD CONSTRAINT brands_slug_key UNIQUE (slug);
ALTER TABLE products ADD CONSTRAINT products_pkey PRIMARY KEY (id),
    ADD CONSTRAINT products_sku_key UNIQUE (sku),
    ADD CONSTRAINT products_slug_key UNIQUE (slug);
ALTER TABLE product_variants ADD CONSTRAINT product_variants_pkey PRIMARY KEY (id),
    ADD CONSTRAINT product_variants_sku_key UNIQUE (sku),
    ADD CONSTRAINT product_variants_product_id_size_color_key UNIQUE (product_id, size, color);
ALTER TABLE product_images ADD CONSTRAINT product_images_pkey PRIMARY KEY (id);
ALTER TABLE warehouses ADD CONSTRAINT warehouses_pkey PRIMARY KEY (id),
    ADD CONSTRAINT warehouses_code_key UNIQUE (code);
ALTER TABLE promo_codes ADD CONSTRAINT promo_codes_pkey PRIMARY KEY (id),
    ADD CONSTRAINT promo_codes_code_key UNIQUE (code);
ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id),
    ADD CONSTRAINT orders_order_number_key UNIQUE (order_number);
ALTER TABLE order_items ADD CONSTRAINT order_items_pkey PRIMARY KEY (id);
ALTER TABLE payments ADD CONSTRAINT payments_pkey PRIMARY KEY (id),
    ADD CONSTRAINT payments_order_id_key UNIQUE (order_id),
    ADD CONSTRAINT payments_transaction_id_key UNIQUE (transaction_id);
ALTER TABLE reviews ADD CONSTRAINT reviews_pkey PRIMARY KEY (id),
    ADD CONSTRAINT reviews_product_id_user_id_order_id_key UNIQUE (product_id, user_id, order_id);
ALTER TABLE cart_items ADD CONSTRAINT cart_items_pkey PRIMARY KEY (id),
    ADD CONSTRAINT cart_items_user_id_product_id_variant_id_key
    UNIQUE (user_id, product_id, variant_id);
ALTER TABLE wishlist_items ADD CONSTRAINT wishlist_items_pkey PRIMARY KEY (id),
    ADD CONSTRAINT wishlist_items_user_id_product_id_key UNIQUE (user_id, product_id);
ALTER TABLE inventory ADD CONSTRAINT inventory_pkey PRIMARY KEY (id),
    ADD CONSTRAINT inventory_product_id_variant_id_warehouse_id_key
    UNIQUE (product_id, variant_id, warehouse_id);
ALTER TABLE inventory_transactions
    ADD CONSTRAINT inventory_transactions_pkey PRIMARY KEY (id);
ALTER TABLE promo_usage ADD CONSTRAINT promo_usage_pkey PRIMARY KEY (id),
    ADD CONSTRAINT promo_usage_promo_code_id_order_id_key UNIQUE (promo_code_id, order_id);

-- section: indexes
-- The seed's indexes, by its names.
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_phone ON users(phone_number);
CREATE INDEX idx_users_role ON users(role);
CREATE INDEX idx_addresses_user_id ON addresses(user_id);
CREATE INDEX idx_categories_parent_id ON categories(parent_id);
CREATE INDEX idx_categories_slug ON categories(slug);
CREATE INDEX idx_brands_slug ON brands(slug);
CREATE INDEX idx_products_sku ON products(sku);
CREATE INDEX idx_products_slug ON products(slug);
CREATE INDEX idx_products_category_id ON products(category_id);
CREATE INDEX idx_products_brand_id ON products(brand_id);
CREATE INDEX idx_products_price ON products(price);
CREATE INDEX idx_products_is_active ON products(is_active);
CREATE INDEX idx_products_tags ON products USING GIN(tags);
CREATE INDEX idx_variants_product_id ON product_variants(product_id);
CREATE INDEX idx_variants_sku ON product_variants(sku);
CREATE INDEX idx_product_images_product_id ON product_images(product_id);
CREATE INDEX idx_orders_user_id ON orders(user_id);
CREATE INDEX idx_orders_status ON orders(status);
CREATE INDEX idx_orders_created_at ON orders(created_at);
CREATE INDEX idx_order_items_order_id ON order_items(order_id);
CREATE INDEX idx_order_items_product_id ON order_items(product_id);
CREATE INDEX idx_payments_order_id ON payments(order_id);
CREATE INDEX idx_payments_user_id ON payments(user_id);
CREATE INDEX idx_payments_status ON payments(status);
CREATE INDEX idx_payments_transaction_id ON payments(transaction_id);
CREATE INDEX idx_reviews_product_id ON reviews(product_id);
CREATE INDEX idx_reviews_user_id ON reviews(user_id);
CREATE INDEX idx_reviews_rating ON reviews(rating);
CREATE INDEX idx_reviews_status ON reviews(status);
CREATE INDEX idx_cart_items_user_id ON cart_items(user_id);
CREATE INDEX idx_wishlist_user_id ON wishlist_items(user_id);
CREATE INDEX idx_inventory_product ON inventory(product_id, variant_id);
CREATE INDEX idx_inventory_available ON inventory(available);
CREATE INDEX idx_inv_trans_inventory ON inventory_transactions(inventory_id);
CREATE INDEX idx_inv_trans_created_at ON inventory_transactions(created_at);
CREATE INDEX idx_promo_codes_code ON promo_codes(code);
CREATE INDEX idx_promo_codes_active ON promo_codes(is_active);
CREATE INDEX idx_promo_usage_code ON promo_usage(promo_code_id);
CREATE INDEX idx_promo_usage_user ON promo_usage(user_id);
-- Ours: section 7.1 "All foreign key columns are indexed" (the ones the DDL left out), and
-- the incremental extract reads rows whose updated_at passed a watermark.
CREATE INDEX idx_order_items_variant_id ON order_items(variant_id);
CREATE INDEX idx_inventory_warehouse_id ON inventory(warehouse_id);
CREATE INDEX idx_orders_promo_code_id ON orders(promo_code_id);
CREATE INDEX idx_promo_usage_order_id ON promo_usage(order_id);
CREATE INDEX idx_users_updated_at ON users(updated_at);
CREATE INDEX idx_products_updated_at ON products(updated_at);
CREATE INDEX idx_orders_updated_at ON orders(updated_at);
CREATE INDEX idx_payments_updated_at ON payments(updated_at);
CREATE INDEX idx_reviews_updated_at ON reviews(updated_at);
CREATE INDEX idx_inventory_updated_at ON inventory(updated_at);

-- section: foreign_keys
-- The seed's REFERENCES with its ON DELETE (none given: NO ACTION).
ALTER TABLE addresses ADD CONSTRAINT addresses_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE categories ADD CONSTRAINT categories_parent_id_fkey
    FOREIGN KEY (parent_id) REFERENCES categories(id) ON DELETE CASCADE;
ALTER TABLE products ADD CONSTRAINT products_category_id_fkey
    FOREIGN KEY (category_id) REFERENCES categories(id),
    ADD CONSTRAINT products_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE product_variants ADD CONSTRAINT product_variants_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products(id) ON DELETE CASCADE;
ALTER TABLE product_images ADD CONSTRAINT product_images_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products(id) ON DELETE CASCADE;
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users(id),
    ADD CONSTRAINT orders_promo_code_id_fkey
    FOREIGN KEY (promo_code_id) REFERENCES promo_codes(id);
ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE,
    ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id),
    ADD CONSTRAINT order_items_variant_id_fkey
    FOREIGN KEY (variant_id) REFERENCES product_variants(id);
ALTER TABLE payments ADD CONSTRAINT payments_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders(id),
    ADD CONSTRAINT payments_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
ALTER TABLE reviews ADD CONSTRAINT reviews_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products(id) ON DELETE CASCADE,
    ADD CONSTRAINT reviews_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id),
    ADD CONSTRAINT reviews_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders(id);
ALTER TABLE cart_items ADD CONSTRAINT cart_items_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
    ADD CONSTRAINT cart_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id),
    ADD CONSTRAINT cart_items_variant_id_fkey
    FOREIGN KEY (variant_id) REFERENCES product_variants(id);
ALTER TABLE wishlist_items ADD CONSTRAINT wishlist_items_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
    ADD CONSTRAINT wishlist_items_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products(id) ON DELETE CASCADE;
ALTER TABLE inventory ADD CONSTRAINT inventory_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products(id),
    ADD CONSTRAINT inventory_variant_id_fkey
    FOREIGN KEY (variant_id) REFERENCES product_variants(id),
    ADD CONSTRAINT inventory_warehouse_id_fkey
    FOREIGN KEY (warehouse_id) REFERENCES warehouses(id);
ALTER TABLE inventory_transactions ADD CONSTRAINT inventory_transactions_inventory_id_fkey
    FOREIGN KEY (inventory_id) REFERENCES inventory(id),
    ADD CONSTRAINT inventory_transactions_created_by_fkey
    FOREIGN KEY (created_by) REFERENCES users(id);
ALTER TABLE promo_usage ADD CONSTRAINT promo_usage_promo_code_id_fkey
    FOREIGN KEY (promo_code_id) REFERENCES promo_codes(id),
    ADD CONSTRAINT promo_usage_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders(id),
    ADD CONSTRAINT promo_usage_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);

-- section: triggers
-- Section 8.2's trigger, on every table with an updated_at (the seed shows it on products).
-- Its update_product_stats trigger is left out: it writes products columns the DDL lacks.
CREATE OR REPLACE FUNCTION update_updated_at()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = CURRENT_TIMESTAMP AT TIME ZONE 'UTC';
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
CREATE TRIGGER update_products_updated_at BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
CREATE TRIGGER update_warehouses_updated_at BEFORE UPDATE ON warehouses
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
CREATE TRIGGER update_orders_updated_at BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
CREATE TRIGGER update_payments_updated_at BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
CREATE TRIGGER update_reviews_updated_at BEFORE UPDATE ON reviews
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
CREATE TRIGGER update_cart_items_updated_at BEFORE UPDATE ON cart_items
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
CREATE TRIGGER update_inventory_updated_at BEFORE UPDATE ON inventory
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
