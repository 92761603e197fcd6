-- Profile `techally`: the TechAlly shop of seed 001 ("Database Schema Overview"): UUID keys,
-- TIMESTAMP WITH TIME ZONE columns, users with roles and soft delete (the seed's full DDL),
-- products (the seed's column table), inventory per product and warehouse (the seed's DDL),
-- payments in their own table, reviews with moderation. The seed names orders, order_items,
-- payments, reviews, warehouses, categories, brands, addresses and stock movements with only
-- some of their columns: what we chose for the rest is in README.md next to this file.
--
-- `shopmarts generate --profile techally` applies the sections in one transaction: drop,
-- tables, fill.sql (the canonical shop written through this schema), keys, indexes,
-- foreign_keys, triggers. Run top to bottom, the file builds the same empty shop.

-- section: drop
DROP TABLE IF EXISTS
    reviews, payments, order_items, orders, stock_movements, inventory, warehouses,
    product_variants, products, brands, categories, addresses, users;
DROP FUNCTION IF EXISTS shop_set_updated_at();

-- section: tables
-- 3.1 Users (the seed's DDL)
CREATE TABLE users (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    email VARCHAR(255) NOT NULL,
    email_verified BOOLEAN DEFAULT false,
    password_hash VARCHAR(255) NOT NULL,
    first_name VARCHAR(100) NOT NULL,
    last_name VARCHAR(100) NOT NULL,
    phone_number VARCHAR(20),
    date_of_birth DATE,
    gender VARCHAR(20),
    avatar_url TEXT,
    role VARCHAR(50) DEFAULT 'customer',
    status VARCHAR(50) DEFAULT 'active',
    last_login_at TIMESTAMP WITH TIME ZONE,
    failed_login_attempts INT DEFAULT 0,
    locked_until TIMESTAMP WITH TIME ZONE,
    mfa_enabled BOOLEAN DEFAULT false,
    mfa_secret VARCHAR(255),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    deleted_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT chk_role CHECK (role IN ('customer', 'admin', 'super_admin', 'support')),
    CONSTRAINT chk_status CHECK (status IN ('active', 'inactive', 'suspended', 'deleted'))
);

-- 3.2 addresses: "street, city, postal_code" (key fields), users.id
CREATE TABLE addresses (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL,
    address_type VARCHAR(20) NOT NULL DEFAULT 'shipping',
    street VARCHAR(255) NOT NULL,
    street_2 VARCHAR(255),
    city VARCHAR(100) NOT NULL,
    state VARCHAR(100),
    postal_code VARCHAR(20) NOT NULL,
    country VARCHAR(2) NOT NULL DEFAULT 'US',
    is_default BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT chk_address_type CHECK (address_type IN ('shipping', 'billing'))
);

-- 4. Product catalog: categories (self-referencing), brands, products (the seed's columns
-- plus is_published, timestamps and deleted_at, which its indexes and views use), variants.
CREATE TABLE categories (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    parent_id UUID,
    name VARCHAR(255) NOT NULL,
    slug VARCHAR(255) NOT NULL,
    description TEXT,
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_category_parent CHECK (parent_id <> id)
);

CREATE TABLE brands (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    slug VARCHAR(255) NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE products (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    sku VARCHAR(100) NOT NULL,
    name VARCHAR(255) NOT NULL,
    slug VARCHAR(255) NOT NULL,
    description TEXT,
    category_id UUID NOT NULL,
    brand_id UUID,
    base_price DECIMAL(10,2) NOT NULL,
    cost_price DECIMAL(10,2),
    is_published BOOLEAN NOT NULL DEFAULT true,
    search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('english', name || ' ' || coalesce(description, ''))) STORED,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT chk_base_price CHECK (base_price >= 0)
);

CREATE TABLE product_variants (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL,
    sku VARCHAR(100) NOT NULL,
    name VARCHAR(255) NOT NULL,
    attributes JSONB NOT NULL DEFAULT '{}',
    price_adjustment DECIMAL(10,2) NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- 6. Inventory: warehouses (ours), inventory (the seed's DDL plus timestamps), movements
-- (the seed's six types).
CREATE TABLE warehouses (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    code VARCHAR(20) NOT NULL,
    name VARCHAR(255) NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE inventory (
    id UUID NOT NULL,
    product_id UUID NOT NULL,
    warehouse_id UUID NOT NULL,
    quantity_on_hand INT NOT NULL DEFAULT 0,
    quantity_reserved INT NOT NULL DEFAULT 0,
    quantity_available INT GENERATED ALWAYS AS
        (quantity_on_hand - quantity_reserved) STORED,
    reorder_point INT,
    reorder_quantity INT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE stock_movements (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    inventory_id UUID NOT NULL,
    movement_type VARCHAR(20) NOT NULL,
    quantity INT NOT NULL,
    reference_id UUID,
    note TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_movement_type CHECK (movement_type IN
        ('purchase', 'sale', 'return', 'adjustment', 'transfer', 'damage'))
);

-- 5. Orders: the state flow's statuses; payments in their own table (one per order).
CREATE TABLE orders (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    order_number VARCHAR(30) NOT NULL,
    user_id UUID NOT NULL,
    shipping_address_id UUID,
    status VARCHAR(20) NOT NULL DEFAULT 'PENDING',
    subtotal DECIMAL(12,2) NOT NULL,
    discount_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    tax_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    shipping_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    total_amount DECIMAL(12,2) NOT NULL,
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT chk_order_status CHECK (status IN ('PENDING', 'PROCESSING', 'CONFIRMED',
        'FAILED', 'PREPARING', 'SHIPPED', 'DELIVERED', 'COMPLETED', 'CANCELLED', 'RETURNED')),
    CONSTRAINT chk_order_total CHECK (
        total_amount = subtotal - discount_amount + tax_amount + shipping_amount)
);

CREATE TABLE order_items (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    order_id UUID NOT NULL,
    product_id UUID NOT NULL,
    variant_id UUID,
    quantity INT NOT NULL,
    unit_price DECIMAL(10,2) NOT NULL,
    discount_amount DECIMAL(10,2) NOT NULL DEFAULT 0,
    total_price DECIMAL(12,2) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_item_quantity CHECK (quantity > 0),
    CONSTRAINT chk_item_total CHECK (total_price = quantity * unit_price - discount_amount)
);

CREATE TABLE payments (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    order_id UUID NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    payment_method VARCHAR(50) NOT NULL,
    gateway_transaction_id VARCHAR(255),
    processed_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_payment_status CHECK (status IN
        ('pending', 'processing', 'completed', 'failed', 'refunded')),
    CONSTRAINT chk_payment_amount CHECK (amount >= 0)
);

-- 8. Reviews: the seed's moderation states; soft delete (its product_ratings view).
CREATE TABLE reviews (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL,
    user_id UUID NOT NULL,
    order_id UUID,
    rating SMALLINT NOT NULL,
    title VARCHAR(255),
    body TEXT,
    moderator_status VARCHAR(20) NOT NULL DEFAULT 'pending',
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT chk_rating CHECK (rating BETWEEN 1 AND 5),
    CONSTRAINT chk_moderator_status CHECK (moderator_status IN
        ('pending', 'approved', 'rejected', 'flagged'))
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
    ADD CONSTRAINT product_variants_sku_key UNIQUE (sku);
ALTER TABLE warehouses ADD CONSTRAINT warehouses_pkey PRIMARY KEY (id),
    ADD CONSTRAINT warehouses_code_key UNIQUE (code);
ALTER TABLE inventory ADD CONSTRAINT inventory_pkey PRIMARY KEY (id),
    ADD CONSTRAINT inventory_product_id_warehouse_id_key UNIQUE (product_id, warehouse_id);
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_pkey PRIMARY KEY (id);
ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id),
    ADD CONSTRAINT orders_order_number_key UNIQUE (order_number);
ALTER TABLE order_items ADD CONSTRAINT order_items_pkey PRIMARY KEY (id);
ALTER TABLE payments ADD CONSTRAINT payments_pkey PRIMARY KEY (id),
    ADD CONSTRAINT payments_order_id_key UNIQUE (order_id);
ALTER TABLE reviews ADD CONSTRAINT reviews_pkey PRIMARY KEY (id);

-- section: indexes
-- The seed's (3.1 and 9.1) ...
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_status ON users(status) WHERE deleted_at IS NULL;
CREATE INDEX idx_users_created_at ON users(created_at);
CREATE INDEX idx_products_search_vector ON products USING gin (search_vector);
CREATE INDEX idx_products_category_published ON products (category_id, is_published);
CREATE INDEX idx_orders_user_created_at ON orders (user_id, created_at DESC);
CREATE INDEX idx_inventory_product_warehouse ON inventory (product_id, warehouse_id);
-- ... and ours: every foreign key, statuses, and the incremental extract's updated_at.
CREATE INDEX idx_addresses_user_id ON addresses (user_id);
CREATE INDEX idx_categories_parent_id ON categories (parent_id);
CREATE INDEX idx_products_brand_id ON products (brand_id);
CREATE INDEX idx_product_variants_product_id ON product_variants (product_id);
CREATE INDEX idx_inventory_warehouse_id ON inventory (warehouse_id);
CREATE INDEX idx_stock_movements_inventory_id ON stock_movements (inventory_id, created_at);
CREATE INDEX idx_orders_shipping_address_id ON orders (shipping_address_id);
CREATE INDEX idx_orders_status ON orders (status);
CREATE INDEX idx_orders_created_at ON orders (created_at);
CREATE INDEX idx_order_items_order_id ON order_items (order_id);
CREATE INDEX idx_order_items_product_id ON order_items (product_id);
CREATE INDEX idx_order_items_variant_id ON order_items (variant_id);
CREATE INDEX idx_payments_status ON payments (status);
CREATE INDEX idx_reviews_product_id ON reviews (product_id) WHERE deleted_at IS NULL;
CREATE INDEX idx_reviews_user_id ON reviews (user_id);
CREATE INDEX idx_reviews_order_id ON reviews (order_id);
CREATE INDEX idx_users_updated_at ON users (updated_at);
CREATE INDEX idx_addresses_updated_at ON addresses (updated_at);
CREATE INDEX idx_categories_updated_at ON categories (updated_at);
CREATE INDEX idx_brands_updated_at ON brands (updated_at);
CREATE INDEX idx_products_updated_at ON products (updated_at);
CREATE INDEX idx_product_variants_updated_at ON product_variants (updated_at);
CREATE INDEX idx_warehouses_updated_at ON warehouses (updated_at);
CREATE INDEX idx_inventory_updated_at ON inventory (updated_at);
CREATE INDEX idx_orders_updated_at ON orders (updated_at);
CREATE INDEX idx_order_items_updated_at ON order_items (updated_at);
CREATE INDEX idx_payments_updated_at ON payments (updated_at);
CREATE INDEX idx_reviews_updated_at ON reviews (updated_at);

-- section: foreign_keys
-- The seed's REFERENCES (no ON DELETE given: NO ACTION; users are soft-deleted, never
-- removed); parts go with their whole (CASCADE) where the seed's ER draws composition.
ALTER TABLE addresses ADD CONSTRAINT addresses_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE categories ADD CONSTRAINT categories_parent_id_fkey
    FOREIGN KEY (parent_id) REFERENCES categories(id);
ALTER TABLE products ADD CONSTRAINT products_category_id_fkey
    FOREIGN KEY (category_id) REFERENCES categories(id),
    ADD CONSTRAINT products_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES brands(id);
ALTER TABLE product_variants ADD CONSTRAINT product_variants_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products(id) ON DELETE CASCADE;
ALTER TABLE inventory ADD CONSTRAINT inventory_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products(id),
    ADD CONSTRAINT inventory_warehouse_id_fkey
    FOREIGN KEY (warehouse_id) REFERENCES warehouses(id);
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_inventory_id_fkey
    FOREIGN KEY (inventory_id) REFERENCES inventory(id) ON DELETE CASCADE;
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users(id),
    ADD CONSTRAINT orders_shipping_address_id_fkey
    FOREIGN KEY (shipping_address_id) REFERENCES addresses(id) ON DELETE SET NULL;
ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE,
    ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id),
    ADD CONSTRAINT order_items_variant_id_fkey
    FOREIGN KEY (variant_id) REFERENCES product_variants(id);
ALTER TABLE payments ADD CONSTRAINT payments_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders(id);
ALTER TABLE reviews ADD CONSTRAINT reviews_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products(id),
    ADD CONSTRAINT reviews_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id),
    ADD CONSTRAINT reviews_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE SET NULL;

-- section: triggers
-- updated_at is the time of the change as the database sees it; an update that changes
-- nothing keeps it (the incremental extract keys on it).
CREATE FUNCTION shop_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NEW;
    END IF;
    NEW.updated_at := greatest(now(), NEW.created_at);
    RETURN NEW;
END
$$;

CREATE TRIGGER users_set_updated_at BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER addresses_set_updated_at BEFORE INSERT OR UPDATE ON addresses
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER categories_set_updated_at BEFORE INSERT OR UPDATE ON categories
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER brands_set_updated_at BEFORE INSERT OR UPDATE ON brands
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER products_set_updated_at BEFORE INSERT OR UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER product_variants_set_updated_at BEFORE INSERT OR UPDATE ON product_variants
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER warehouses_set_updated_at BEFORE INSERT OR UPDATE ON warehouses
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER inventory_set_updated_at BEFORE INSERT OR UPDATE ON inventory
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER orders_set_updated_at BEFORE INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER order_items_set_updated_at BEFORE INSERT OR UPDATE ON order_items
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER payments_set_updated_at BEFORE INSERT OR UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER reviews_set_updated_at BEFORE INSERT OR UPDATE ON reviews
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
