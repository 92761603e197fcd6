-- Profile `modestwear`: the ModestWear shop of seed 000 (Django on PostgreSQL 15), as the seed
-- defines it: four modules (users, catalog, orders, outfits), SERIAL keys, TIMESTAMP columns
-- (UTC, without time zone), stock and SKU on variants, one total price per order.
-- What the seed leaves open and what we chose: README.md next to this file.
--
-- `shopmarts generate --profile modestwear` applies the sections in one transaction: drop,
-- tables, fill.sql (the canonical shop written through this schema), keys, indexes,
-- foreign_keys, triggers. Run top to bottom, the file builds the same empty shop.

-- section: drop
DROP TABLE IF EXISTS
    outfits_outfititem, outfits_outfit, orders_orderitem, orders_order, orders_cartitem,
    orders_wishlist, catalog_productimage, catalog_productvariant, catalog_product,
    catalog_coveragelevel, catalog_category, users_user;
DROP FUNCTION IF EXISTS shop_set_updated_at();

-- section: tables
-- 1. Users module
CREATE TABLE users_user (
    id               serial,
    email            varchar(254) NOT NULL,
    username         varchar(70) NOT NULL,
    password         varchar(128) NOT NULL,
    first_name       varchar(128) NOT NULL,
    last_name        varchar(70) NOT NULL,
    profile_picture  varchar(100),
    phone_number     varchar(15),
    is_verified      boolean NOT NULL DEFAULT false,
    is_active        boolean NOT NULL DEFAULT true,
    is_staff         boolean NOT NULL DEFAULT false,
    is_superuser     boolean NOT NULL DEFAULT false,
    date_joined      timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    last_login       timestamp
);

-- 2. Catalog module
CREATE TABLE catalog_category (
    id         serial,
    parent_id  integer,
    name       varchar(255) NOT NULL,
    slug       varchar(50) NOT NULL,
    is_active  boolean NOT NULL DEFAULT true,
    CONSTRAINT catalog_category_parent_check CHECK (parent_id <> id)
);

CREATE TABLE catalog_coveragelevel (
    id           serial,
    name         varchar(255) NOT NULL,
    description  text NOT NULL DEFAULT ''
);

CREATE TABLE catalog_product (
    id               serial,
    category_id      integer NOT NULL,
    product_size_id  integer,
    name             varchar(255) NOT NULL,
    slug             varchar(50) NOT NULL,
    description      text NOT NULL DEFAULT '',
    base_price       numeric(6,2) NOT NULL,
    is_featured      boolean NOT NULL DEFAULT false,
    date_added       timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    CONSTRAINT catalog_product_base_price_check CHECK (base_price >= 0)
);

CREATE TABLE catalog_productvariant (
    id               serial,
    product_id       integer NOT NULL,
    coverage_id      integer,
    sku              varchar(255) NOT NULL,
    size             integer NOT NULL,
    color            varchar(100) NOT NULL,
    stock_available  integer NOT NULL DEFAULT 0,
    is_active        boolean NOT NULL DEFAULT true,
    -- The seed's size enum: 0=XS, 1=S, 2=M, 3=L, 4=XL, 5=XXL.
    CONSTRAINT catalog_productvariant_size_check CHECK (size BETWEEN 0 AND 5),
    CONSTRAINT catalog_productvariant_stock_available_check CHECK (stock_available >= 0)
);

CREATE TABLE catalog_productimage (
    id          serial,
    product_id  integer NOT NULL,
    image       varchar(100) NOT NULL,
    thumbnail   varchar(100),
    is_feature  boolean NOT NULL DEFAULT false
);

-- 3. Orders module
CREATE TABLE orders_wishlist (
    id          serial,
    user_id     integer NOT NULL,
    variant_id  integer NOT NULL,
    added_at    timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

CREATE TABLE orders_cartitem (
    id           serial,
    user_id      integer,
    session_key  varchar(40),
    variant_id   integer NOT NULL,
    quantity     integer NOT NULL DEFAULT 1,
    created_at   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    -- A cart belongs to a user or, for guests, to a session.
    CONSTRAINT orders_cartitem_owner_check CHECK (user_id IS NOT NULL OR session_key IS NOT NULL)
);

CREATE TABLE orders_order (
    id           serial,
    user_id      integer NOT NULL,
    status       varchar(20) NOT NULL DEFAULT 'pending',
    total_price  numeric(10,2) NOT NULL,
    address      text NOT NULL,
    created_at   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    CONSTRAINT orders_order_status_check CHECK (status IN
        ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    CONSTRAINT orders_order_total_price_check CHECK (total_price >= 0)
);

CREATE TABLE orders_orderitem (
    id                 serial,
    order_id           integer NOT NULL,
    variant_id         integer NOT NULL,
    quantity           integer NOT NULL,
    price_at_purchase  numeric(10,2) NOT NULL,
    CONSTRAINT orders_orderitem_quantity_check CHECK (quantity > 0),
    CONSTRAINT orders_orderitem_price_at_purchase_check CHECK (price_at_purchase >= 0)
);

-- 4. Outfits module
CREATE TABLE outfits_outfit (
    id           serial,
    user_id      integer NOT NULL,
    name         varchar(255) NOT NULL,
    description  text NOT NULL DEFAULT '',
    is_public    boolean NOT NULL DEFAULT false,
    created_at   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    updated_at   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

CREATE TABLE outfits_outfititem (
    id          serial,
    outfit_id   integer NOT NULL,
    product_id  integer NOT NULL,
    position    integer NOT NULL DEFAULT 0
);

-- section: keys
ALTER TABLE users_user ADD CONSTRAINT users_user_pkey PRIMARY KEY (id),
    ADD CONSTRAINT users_user_email_key UNIQUE (email);
ALTER TABLE catalog_category ADD CONSTRAINT catalog_category_pkey PRIMARY KEY (id),
    ADD CONSTRAINT catalog_category_slug_key UNIQUE (slug);
ALTER TABLE catalog_coveragelevel ADD CONSTRAINT catalog_coveragelevel_pkey PRIMARY KEY (id);
ALTER TABLE catalog_product ADD CONSTRAINT catalog_product_pkey PRIMARY KEY (id),
    ADD CONSTRAINT catalog_product_slug_key UNIQUE (slug);
ALTER TABLE catalog_productvariant ADD CONSTRAINT catalog_productvariant_pkey PRIMARY KEY (id),
    ADD CONSTRAINT catalog_productvariant_sku_key UNIQUE (sku);
ALTER TABLE catalog_productimage ADD CONSTRAINT catalog_productimage_pkey PRIMARY KEY (id);
ALTER TABLE orders_wishlist ADD CONSTRAINT orders_wishlist_pkey PRIMARY KEY (id),
    ADD CONSTRAINT orders_wishlist_user_id_variant_id_key UNIQUE (user_id, variant_id);
ALTER TABLE orders_cartitem ADD CONSTRAINT orders_cartitem_pkey PRIMARY KEY (id);
ALTER TABLE orders_order ADD CONSTRAINT orders_order_pkey PRIMARY KEY (id);
ALTER TABLE orders_orderitem ADD CONSTRAINT orders_orderitem_pkey PRIMARY KEY (id);
ALTER TABLE outfits_outfit ADD CONSTRAINT outfits_outfit_pkey PRIMARY KEY (id);
ALTER TABLE outfits_outfititem ADD CONSTRAINT outfits_outfititem_pkey PRIMARY KEY (id),
    ADD CONSTRAINT outfits_outfititem_outfit_id_product_id_key UNIQUE (outfit_id, product_id);

-- section: indexes
-- The seed's indexes ("All foreign keys indexed", plus the composites it lists).
CREATE INDEX users_user_username_idx ON users_user (username);
CREATE INDEX catalog_category_parent_id_idx ON catalog_category (parent_id);
CREATE INDEX catalog_product_category_id_idx ON catalog_product (category_id);
CREATE INDEX catalog_product_product_size_id_idx ON catalog_product (product_size_id);
CREATE INDEX catalog_product_is_featured_idx ON catalog_product (is_featured);
CREATE INDEX catalog_product_category_id_is_featured_idx
    ON catalog_product (category_id, is_featured);
CREATE INDEX catalog_productvariant_product_id_idx ON catalog_productvariant (product_id);
CREATE INDEX catalog_productvariant_coverage_id_idx ON catalog_productvariant (coverage_id);
CREATE INDEX catalog_productvariant_product_id_is_active_idx
    ON catalog_productvariant (product_id, is_active);
CREATE INDEX catalog_productimage_product_id_idx ON catalog_productimage (product_id);
CREATE INDEX orders_wishlist_variant_id_idx ON orders_wishlist (variant_id);
CREATE INDEX orders_cartitem_user_id_idx ON orders_cartitem (user_id);
CREATE INDEX orders_cartitem_session_key_idx ON orders_cartitem (session_key);
CREATE INDEX orders_cartitem_variant_id_idx ON orders_cartitem (variant_id);
CREATE INDEX orders_order_user_id_idx ON orders_order (user_id);
CREATE INDEX orders_order_status_idx ON orders_order (status);
CREATE INDEX orders_order_created_at_idx ON orders_order (created_at);
CREATE INDEX orders_order_user_id_status_idx ON orders_order (user_id, status);
CREATE INDEX orders_orderitem_order_id_idx ON orders_orderitem (order_id);
CREATE INDEX orders_orderitem_variant_id_idx ON orders_orderitem (variant_id);
CREATE INDEX outfits_outfit_user_id_idx ON outfits_outfit (user_id);
CREATE INDEX outfits_outfit_is_public_idx ON outfits_outfit (is_public);
CREATE INDEX outfits_outfititem_product_id_idx ON outfits_outfititem (product_id);
-- The seed's "Full-text search indexes on product name/description".
CREATE INDEX catalog_product_search_idx ON catalog_product
    USING gin (to_tsvector('english', name || ' ' || description));

-- section: foreign_keys
-- The seed gives no ON DELETE (Django emulates it): parts go with their whole (CASCADE),
-- anything that records a sale or a customer refuses the delete (NO ACTION).
ALTER TABLE catalog_category ADD CONSTRAINT catalog_category_parent_id_fkey
    FOREIGN KEY (parent_id) REFERENCES catalog_category (id);
ALTER TABLE catalog_product ADD CONSTRAINT catalog_product_category_id_fkey
    FOREIGN KEY (category_id) REFERENCES catalog_category (id),
    ADD CONSTRAINT catalog_product_product_size_id_fkey
    FOREIGN KEY (product_size_id) REFERENCES catalog_coveragelevel (id) ON DELETE SET NULL;
ALTER TABLE catalog_productvariant ADD CONSTRAINT catalog_productvariant_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES catalog_product (id) ON DELETE CASCADE,
    ADD CONSTRAINT catalog_productvariant_coverage_id_fkey
    FOREIGN KEY (coverage_id) REFERENCES catalog_coveragelevel (id) ON DELETE SET NULL;
ALTER TABLE catalog_productimage ADD CONSTRAINT catalog_productimage_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES catalog_product (id) ON DELETE CASCADE;
ALTER TABLE orders_wishlist ADD CONSTRAINT orders_wishlist_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users_user (id) ON DELETE CASCADE,
    ADD CONSTRAINT orders_wishlist_variant_id_fkey
    FOREIGN KEY (variant_id) REFERENCES catalog_productvariant (id) ON DELETE CASCADE;
ALTER TABLE orders_cartitem ADD CONSTRAINT orders_cartitem_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users_user (id) ON DELETE CASCADE,
    ADD CONSTRAINT orders_cartitem_variant_id_fkey
    FOREIGN KEY (variant_id) REFERENCES catalog_productvariant (id) ON DELETE CASCADE;
ALTER TABLE orders_order ADD CONSTRAINT orders_order_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users_user (id);
ALTER TABLE orders_orderitem ADD CONSTRAINT orders_orderitem_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders_order (id) ON DELETE CASCADE,
    ADD CONSTRAINT orders_orderitem_variant_id_fkey
    FOREIGN KEY (variant_id) REFERENCES catalog_productvariant (id);
ALTER TABLE outfits_outfit ADD CONSTRAINT outfits_outfit_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users_user (id) ON DELETE CASCADE;
ALTER TABLE outfits_outfititem ADD CONSTRAINT outfits_outfititem_outfit_id_fkey
    FOREIGN KEY (outfit_id) REFERENCES outfits_outfit (id) ON DELETE CASCADE,
    ADD CONSTRAINT outfits_outfititem_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES catalog_product (id) ON DELETE CASCADE;

-- section: triggers
-- Only outfits_outfit has an updated_at (the seed's only "Last update timestamp").
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

CREATE TRIGGER outfits_outfit_set_updated_at BEFORE INSERT OR UPDATE ON outfits_outfit
    FOR EACH ROW EXECUTE FUNCTION shop_set_updated_at();
