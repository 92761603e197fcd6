with

source as (

    select
        order_id,
        promotion_id,
        discount_amount
    from {{ shop_source('order_promotions') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('order_id') }} as order_id,
        {{ to_bigint('promotion_id') }} as promotion_id,

        ---------- numerics
        {{ to_money('discount_amount') }} as discount_amount

    from source

)

select * from renamed
