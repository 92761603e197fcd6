-- category_performance walks the category tree down from the top-level categories, to
-- any depth. A category no top-level category leads to sits in (or below) a cycle of
-- parents, which the shop should never hold: it would have no level and no rollup.
-- Returns every such category with the parent it names.
select category_id, category_name, parent_category_name
from {{ ref('category_performance') }}
where category_level is null
