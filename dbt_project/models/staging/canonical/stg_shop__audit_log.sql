with

source as (

    select
        audit_id,
        table_name,
        record_id,
        action,
        old_values,
        new_values,
        changed_at
    from {{ shop_source('audit_log') }}

),

renamed as (

    select
        ---------- ids
        {{ to_bigint('audit_id') }} as audit_id,
        {{ to_bigint('record_id') }} as record_id,

        ---------- text
        table_name,
        action,
        old_values,
        new_values,

        ---------- timestamps
        changed_at

    from source

)

select * from renamed
