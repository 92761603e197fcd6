-- Profile `minimal`: the shop of seed 002 ("Database Schema Design"), as the seed defines it:
-- users, sessions, products (with a `stock` column), orders (status, total), order_items
-- (price per unit). UUID keys, TIMESTAMP (UTC, without time zone) columns.
-- What the seed leaves open and what we chose: README.md next to this file.
--
-- `shopmarts generate --profile minimal` applies the sections in one transaction: drop,
-- tables, fill.sql (the canonical shop written through this schema), keys, indexes,
-- foreign_keys, triggers. Run top to bottom, the file builds the same empty shop.

-- section: drop
DROP TABLE IF EXISTS sessions, order_items, orders, products, users;
DROP FUNCTION IF EXISTS shop_set_updated_at();

-- section: tables
CREATE TABLE users (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    email          varchar(255) NOT NULL,
    password_hash  varchar(255) NOT NULL,
    created_at     timestamp NOT NULL,
    updated_at     timestamp NOT NULL
);

CREATE TABLE sessions (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL,
    token_hash  varchar(255) NOT NULL,
    expires_at  timestamp NOT NULL,
    created_at  timestamp NOT NULL
);

CREATE TABLE products (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    name         varchar(255) NOT NULL,
    description  text,
    price        numeric(10,2) NOT NULL,
    stock        integer NOT NULL DEFAULT 0,
    created_at   timestamp NOT NULL,
    updated_at   timestamp NOT NULL
);

CREATE TABLE orders (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL,
    status      varchar(50) NOT NULL,
    total       numeric(10,2) NOT NULL,
    created_at  timestamp NOT NULL,
    updated_at  timestamp NOT NULL,
    -- The seed's "Status Values"; it lists them without a constraint, we enforce them.
    CONSTRAINT orders_status_check CHECK (status IN
        ('pending', 'processing', 'shipped', 'delivered', 'cancelled'))
);

CREATE TABLE order_items (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    order_id    uuid NOT NULL,
    product_id  uuid NOT NULL,
    quantity    integer NOT NULL,
    price       numeric(10,2) NOT NULL,
    CONSTRAINT order_items_quantity_check CHECK (quantity > 0)
);

-- section: keys
ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE sessions ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);
ALTER TABLE products ADD CONSTRAINT products_pkey PRIMARY KEY (id);
ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
ALTER TABLE order_items ADD CONSTRAINT order_items_pkey PRIMARY KEY (id);

-- section: indexes
-- The seed's indexes, by its names (idx_users_email is its unique email).
CREATE UNIQUE INDEX idx_users_email ON users (email);
CREATE INDEX idx_users_created_at ON users (created_at);
CREATE INDEX idx_sessions_user_id ON sessions (user_id);
CREATE INDEX idx_sessions_expires_at ON sessions (expires_at);
CREATE INDEX idx_products_name ON products (name);
CREATE INDEX idx_products_price ON products (price);
CREATE INDEX idx_orders_user_id ON orders (user_id);
CREATE INDEX idx_orders_status ON orders (status);
CREATE INDEX idx_orders_created_at ON orders (created_at);
CREATE INDEX idx_order_items_order_id ON order_items (order_id);
CREATE INDEX idx_order_items_product_id ON order_items (product_id);
-- Ours: the incremental extract reads rows whose updated_at passed a watermark.
CREATE INDEX idx_users_updated_at ON users (updated_at);
CREATE INDEX idx_products_updated_at ON products (updated_at);
CREATE INDEX idx_orders_updated_at ON orders (updated_at);

-- section: foreign_keys
-- The seed gives no ON DELETE: PostgreSQL's default (NO ACTION) is what its DDL would get.
ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders (id),
    ADD CONSTRAINT order_items_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products (id);

-- section: triggers
-- updated_at is the time of the change in UTC (the columns are TIMESTAMP without time zone).
CREATE FUNCTION shop_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NEW;
    END IF;
    NEW.updated_at := greatest(now() AT TIME ZONE 'UTC', NEW.created_at);
    RETURN NEW;
END
$$;

CREATE TRIGGER users_set_updated_at BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER products_set_updated_at BEFORE INSERT OR UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
CREATE TRIGGER orders_set_updated_at BEFORE INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
