-- The RFM segment rules (macros/rfm_segments.sql) tile the score space: every
-- (r, f, m) combination of scores 1..5 matches exactly one rule. Returns the
-- combinations that match none or several.
with

scores as (

    select 1 as score union all select 2 union all select 3 union all select 4 union all select 5

),

combinations as (

    select
        recency.score as r_score,
        frequency.score as f_score,
        monetary.score as m_score
    from scores as recency
    cross join scores as frequency
    cross join scores as monetary

),

matched as (

    select
        r_score,
        f_score,
        m_score,
        0
        {%- for rule in rfm_segment_rules() %}
        + case
            when r_score between {{ rule.r[0] }} and {{ rule.r[1] }}
                and f_score + m_score between {{ 2 * rule.fm[0] }} and {{ 2 * rule.fm[1] + 1 }}
            then 1 else 0
        end
        {%- endfor %} as matching_rules
    from combinations

)

select r_score, f_score, m_score, matching_rules
from matched
where matching_rules <> 1
