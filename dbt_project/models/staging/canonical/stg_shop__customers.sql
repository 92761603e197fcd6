with

source as (

    select
        customer_id,
        email,
        first_name,
        last_name,
        phone,
        tier,
        is_active,
        created_at,
        updated_at
    from {{ shop_source('customers') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('customer_id') }} as customer_id,

        ---------- text
        email,
        first_name,
        last_name,
        phone,
        tier as customer_tier,

        ---------- booleans
        is_active,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
