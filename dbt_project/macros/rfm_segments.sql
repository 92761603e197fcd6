{#- THE table of RFM segment rules: the only place they are written. `customer_segments`
    builds its CASE from it; the docs block `rfm_segment_rules` shows it to analysts
    (tests/test_dbt_unit.py checks that the two agree).

    r  = r_score (recency quintile, 5 = bought most recently)
    fm = floor((f_score + m_score) / 2), the mean of the frequency and monetary scores,
         rounded down
    Each rule is a rectangle of (r, fm) scores; the rectangles tile the 5 x 5 grid, so
    every customer falls in exactly one segment (the unit tests check that too). -#}
{% macro rfm_segment_rules() -%}
    {{ return([
        {'segment': 'Champions',           'r': [4, 5], 'fm': [4, 5]},
        {'segment': 'Loyal Customers',     'r': [3, 3], 'fm': [4, 5]},
        {'segment': 'Potential Loyalists', 'r': [4, 5], 'fm': [2, 3]},
        {'segment': 'New Customers',       'r': [5, 5], 'fm': [1, 1]},
        {'segment': 'Promising',           'r': [4, 4], 'fm': [1, 1]},
        {'segment': 'Need Attention',      'r': [3, 3], 'fm': [3, 3]},
        {'segment': 'About To Sleep',      'r': [3, 3], 'fm': [1, 2]},
        {'segment': 'At Risk',             'r': [2, 2], 'fm': [3, 5]},
        {'segment': 'Cannot Lose Them',    'r': [1, 1], 'fm': [4, 5]},
        {'segment': 'Hibernating',         'r': [2, 2], 'fm': [1, 2]},
        {'segment': 'Lost',                'r': [1, 1], 'fm': [1, 3]},
    ]) }}
{%- endmacro %}

{#- CASE expression giving the segment. floor((f + m) / 2) between lo and hi is written
    as f + m between 2*lo and 2*hi + 1, so no engine's integer division is involved. -#}
{% macro rfm_segment_case(r_score, f_score, m_score) -%}
    case
    {%- for rule in rfm_segment_rules() %}
        when {{ r_score }} between {{ rule.r[0] }} and {{ rule.r[1] }}
            and {{ f_score }} + {{ m_score }} between {{ 2 * rule.fm[0] }} and {{ 2 * rule.fm[1] + 1 }}
            then '{{ rule.segment }}'
    {%- endfor %}
    end
{%- endmacro %}
