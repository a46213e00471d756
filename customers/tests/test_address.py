"""Free-text Chinese addresses split into province / city / district when unambiguous."""

import pytest

from customers.address import AddressParts, address_split

CASES = [
    ("广东省深圳市南山区科技园科苑路15号", ("广东省", "深圳市", "南山区", "科技园科苑路15号")),
    ("广东深圳南山区科苑路15号", ("广东省", "深圳市", "南山区", "科苑路15号")),
    ("深圳市南山区科苑路15号", ("广东省", "深圳市", "南山区", "科苑路15号")),
    ("北京市朝阳区建国路88号", ("北京市", "北京市", "朝阳区", "建国路88号")),
    ("北京朝阳区建国路88号", ("北京市", "北京市", "朝阳区", "建国路88号")),
    ("上海市浦东新区世纪大道100号", ("上海市", "上海市", "浦东新区", "世纪大道100号")),
    ("浙江省杭州市西湖区文三路 90 号", ("浙江省", "杭州市", "西湖区", "文三路90号")),
    ("内蒙古呼和浩特市新城区", ("内蒙古自治区", "呼和浩特市", "新城区", "")),
    ("江苏省苏州市工业园区星湖街", ("江苏省", "苏州市", "", "工业园区星湖街")),
]


@pytest.mark.parametrize(("text", "parts"), CASES)
def test_unambiguous_addresses_are_split(text, parts):
    assert address_split(text) == AddressParts(*parts)


def test_ambiguous_district_without_city_stays_whole():
    # 朝阳区 is in Beijing and in Changchun.
    assert address_split("朝阳区建国路88号") == AddressParts(street="朝阳区建国路88号")


def test_prefecture_city_named_like_its_province():
    assert address_split("吉林市船营区北京路") == AddressParts(
        "吉林省", "吉林市", "船营区", "北京路"
    )


def test_text_without_divisions_stays_whole():
    assert address_split("") == AddressParts()
    assert address_split("建国路88号") == AddressParts(street="建国路88号")
