with

source as (

    select
        address_id,
        customer_id,
        address_type,
        line1,
        city,
        state,
        postal_code,
        country,
        is_default,
        created_at,
        updated_at
    from {{ shop_source('addresses') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('address_id') }} as address_id,
        {{ to_bigint('customer_id') }} as customer_id,

        ---------- text
        address_type,
        line1 as address_line1,
        city,
        state,
        postal_code,
        country,

        ---------- booleans
        is_default,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
