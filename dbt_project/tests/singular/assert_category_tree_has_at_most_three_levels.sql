-- category_performance rolls a category's subtree up through at most two ancestors.
-- Returns every category that sits deeper than the third level.
select child.category_id, child.category_name
from {{ ref('stg_shop__product_categories') }} as child
inner join {{ ref('stg_shop__product_categories') }} as parent
    on child.parent_category_id = parent.category_id
inner join {{ ref('stg_shop__product_categories') }} as grandparent
    on parent.parent_category_id = grandparent.category_id
where grandparent.parent_category_id is not null
