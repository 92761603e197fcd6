{#- SoleMate `promo_usage`: the codes applied to each order, with their discount (every
    code of an order; `orders.promo_code_id` keeps only one). -#}

with

source as (

    select order_id, promo_code_id, discount_amount
    from {{ shop_source('promo_usage', 'shop_solemate') }}

),

renamed as (

    select
        ---------- ids
        order_id,
        promo_code_id as promotion_id,

        ---------- numerics
        {{ to_money('discount_amount') }} as discount_amount

    from source

)

select * from renamed
