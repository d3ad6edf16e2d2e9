//! Random but valid identities for synthetic cards: names, sex, ethnicity, birth date, an
//! address matching the number's region code, a GB 11643-1999 number with its check character,
//! and the back's issuing authority and validity period.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Everything printed on a synthetic card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Identity {
    /// Name (2–4 characters).
    pub name: String,
    /// 男 or 女.
    pub sex: String,
    /// Ethnicity (民族), e.g. 汉.
    pub ethnicity: String,
    /// Birth date, YYYY-MM-DD.
    pub birth_date: String,
    /// Address as printed (without line breaks).
    pub address: String,
    /// 18-character resident ID number.
    pub id_number: String,
    /// Issuing authority (back).
    pub authority: String,
    /// Validity period as printed (back), e.g. 2015.06.01-2035.06.01.
    pub validity: String,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁",
    "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程",
    "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "方",
    "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "欧阳", "司马", "诸葛",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞", "平", "刚", "桂",
    "英", "华", "玉", "兰", "萍", "红", "鹏", "辉", "建", "国", "志", "文", "宇", "浩", "然", "子", "轩", "欣", "怡", "晨", "思", "佳",
    "雨", "婷", "俊", "博", "凯", "瑞", "琳", "雪", "梅", "海", "波", "峰", "斌", "慧", "颖", "倩", "宁", "春", "晓", "东", "亮", "林",
    "成", "嘉", "睿", "泽", "天", "昊", "铭", "欢", "悦", "诗", "涵", "梓", "瑶", "鑫", "彤", "晗", "宏", "德", "安", "永", "庆", "福",
    "荣", "新", "立", "冬", "青",
];
const ETHNICITIES: &[&str] = &["回", "满", "蒙古", "壮", "维吾尔", "藏", "苗", "彝", "土家", "朝鲜", "侗", "瑶", "白", "哈尼"];

/// Region code, province, city, district: the address follows the number.
const REGIONS: &[(&str, &str, &str, &str)] = &[
    ("110105", "北京市", "", "朝阳区"),
    ("110108", "北京市", "", "海淀区"),
    ("120101", "天津市", "", "和平区"),
    ("310115", "上海市", "", "浦东新区"),
    ("500103", "重庆市", "", "渝中区"),
    ("440106", "广东省", "广州市", "天河区"),
    ("440304", "广东省", "深圳市", "福田区"),
    ("330106", "浙江省", "杭州市", "西湖区"),
    ("320102", "江苏省", "南京市", "玄武区"),
    ("510107", "四川省", "成都市", "武侯区"),
    ("420106", "湖北省", "武汉市", "武昌区"),
    ("610113", "陕西省", "西安市", "雁塔区"),
    ("370202", "山东省", "青岛市", "市南区"),
    ("350203", "福建省", "厦门市", "思明区"),
    ("430104", "湖南省", "长沙市", "岳麓区"),
    ("210102", "辽宁省", "沈阳市", "和平区"),
    ("530102", "云南省", "昆明市", "五华区"),
    ("410105", "河南省", "郑州市", "金水区"),
    ("130102", "河北省", "石家庄市", "长安区"),
    ("450103", "广西壮族自治区", "南宁市", "青秀区"),
];
const STREET_WORDS: &[&str] = &[
    "人民", "解放", "建设", "中山", "和平", "光明", "新华", "文化", "胜利", "长江", "黄河", "东风", "朝阳", "幸福", "青年", "南京", "北京",
    "延安", "滨江", "学府", "科技", "花园", "春晓", "金桥", "龙华", "友谊", "团结", "复兴",
];
const STREET_KINDS: &[&str] = &["路", "街", "大道", "巷", "大街"];
const PLACES: &[&str] = &["小区", "花园", "新村", "公寓", "家园", "苑"];

/// Draws one random identity; `today` bounds the birth date and validity period.
pub fn random_identity(rng: &mut impl Rng, today_year: i32) -> Identity {
    let surname = *SURNAMES.choose(rng).unwrap_or(&"王");
    let given: String = (0..rng.gen_range(1..=2)).map(|_| *GIVEN.choose(rng).unwrap_or(&"伟")).collect();
    let male = rng.gen_bool(0.5);
    let ethnicity = if rng.gen_bool(0.85) { "汉" } else { ETHNICITIES.choose(rng).unwrap_or(&"回") };
    let year = rng.gen_range(1950..=today_year - 18);
    let month = rng.gen_range(1..=12u32);
    let day = rng.gen_range(1..=days_in(year, month));
    let &(code, province, city, district) = REGIONS.choose(rng).unwrap_or(&REGIONS[0]);
    let street =
        format!("{}{}{}号", STREET_WORDS.choose(rng).unwrap_or(&"人民"), STREET_KINDS.choose(rng).unwrap_or(&"路"), rng.gen_range(1..=999));
    let place = if rng.gen_bool(0.6) {
        format!(
            "{}{}{}栋{}单元{}室",
            STREET_WORDS.choose(rng).unwrap_or(&"幸福"),
            PLACES.choose(rng).unwrap_or(&"小区"),
            rng.gen_range(1..=30),
            rng.gen_range(1..=6),
            rng.gen_range(101..=2405)
        )
    } else {
        String::new()
    };
    // The card prints at most three lines of 11 characters.
    let mut address = format!("{province}{city}{district}{street}{place}");
    if address.chars().count() > 33 {
        address = format!("{province}{city}{district}{street}");
    }
    let seq = rng.gen_range(0..100u32);
    let sex_digit = rng.gen_range(0..5u32) * 2 + u32::from(male);
    let first17 = format!("{code}{year:04}{month:02}{day:02}{seq:02}{sex_digit}");
    let bytes: [u8; 17] = first17.as_bytes().try_into().unwrap_or([b'0'; 17]);
    let check = simkyc_docs::cn_id::check_char(&bytes).unwrap_or('0');
    let city_or_province = if city.is_empty() { province } else { city };
    let authority = format!("{city_or_province}公安局{}分局", district.trim_end_matches('区').trim_end_matches("新"));
    let from_year = rng.gen_range((today_year - 15).max(year + 16)..=today_year);
    let (fm, fd) = (rng.gen_range(1..=12u32), rng.gen_range(1..=28u32));
    let span = if from_year - year < 26 { 10 } else { 20 };
    let validity = format!("{from_year:04}.{fm:02}.{fd:02}-{:04}.{fm:02}.{fd:02}", from_year + span);
    Identity {
        name: format!("{surname}{given}"),
        sex: if male { "男" } else { "女" }.into(),
        ethnicity: ethnicity.into(),
        birth_date: format!("{year:04}-{month:02}-{day:02}"),
        address,
        id_number: format!("{first17}{check}"),
        authority,
        validity,
    }
}

fn days_in(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_number_is_valid_and_agrees_with_the_printed_data() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let today = simkyc_docs::Date { year: 2026, month: 12, day: 1 };
        for _ in 0..500 {
            let id = random_identity(&mut rng, 2026);
            let v = simkyc_docs::cn_id::validate(&id.id_number, today).expect("valid number");
            assert_eq!(v.birth_date.to_string(), id.birth_date);
            assert_eq!(v.sex == simkyc_docs::cn_id::Sex::Male, id.sex == "男");
            assert!((2..=4).contains(&id.name.chars().count()));
            assert!(id.address.chars().count() <= 33, "{}", id.address);
        }
    }
}
